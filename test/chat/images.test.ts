import { takesImages } from '../../nodes/shared/methods/listModels';
import { checkImageUrl, sniffImageType, splitImageUrls } from '../../nodes/shared/chat/images';

describe('splitImageUrls', () => {
	it('splits on commas, spaces and new lines, but never inside a data URL', () => {
		const data = 'data:image/png;base64,iVBORw0KGgo=';
		expect(splitImageUrls(`https://a.example/x.png,https://b.example/y.png\n${data}, ${data}`, 'Image URLs')).toEqual([
			'https://a.example/x.png',
			'https://b.example/y.png',
			data,
			data,
		]);
	});

	it('keeps commas inside an http URL', () => {
		expect(splitImageUrls('https://cdn.example/img?size=1,2', 'Image URLs')).toEqual(['https://cdn.example/img?size=1,2']);
	});

	it('takes an array from an expression and gives nothing for an empty field', () => {
		expect(splitImageUrls(['https://a.example/x.png'], 'Image URLs')).toEqual(['https://a.example/x.png']);
		expect(splitImageUrls('', 'Image URLs')).toEqual([]);
	});
});

describe('checkImageUrl', () => {
	it('accepts http(s) and image data URLs, and names the field when refusing', () => {
		expect(checkImageUrl(' https://a.example/x.png ', 'F')).toBe('https://a.example/x.png');
		expect(checkImageUrl('data:image/webp;base64,UklGRg==', 'F')).toBe('data:image/webp;base64,UklGRg==');
		expect(() => checkImageUrl('data:image/png;base64,', 'F')).toThrow('F is a data URL without data');
		expect(() => checkImageUrl('javascript:alert(1)', 'F')).toThrow('F has the protocol javascript');
	});
});

describe('sniffImageType', () => {
	it('recognises PNG, JPEG, GIF and WebP by their first bytes, and nothing else', () => {
		expect(sniffImageType(Buffer.from('89504e470d0a1a0a0000', 'hex'))).toBe('image/png');
		expect(sniffImageType(Buffer.from('ffd8ffe0', 'hex'))).toBe('image/jpeg');
		expect(sniffImageType(Buffer.from('GIF89a', 'latin1'))).toBe('image/gif');
		expect(sniffImageType(Buffer.from('RIFF0000WEBP', 'latin1'))).toBe('image/webp');
		expect(sniffImageType(Buffer.from('%PDF-1.4', 'latin1'))).toBeUndefined();
	});
});

describe('takesImages (the Model list)', () => {
	it('reads the capability shapes lists use, and says nothing when the entry says nothing', () => {
		expect(takesImages({ model_type: 'Vision' })).toBe(true);
		expect(takesImages({ input_modalities: ['text', 'image'] })).toBe(true);
		expect(takesImages({ architecture: { input_modalities: ['text'] } })).toBe(false);
		expect(takesImages({ capabilities: { vision: true } })).toBe(true);
		expect(takesImages({ model_type: 'Text', model_name: 'Qwen/Qwen2.5-VL-7B-Instruct' })).toBeUndefined();
	});
});
