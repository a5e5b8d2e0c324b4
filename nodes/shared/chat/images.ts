import { describeValue, InputError } from '../inputError';
import { isObject } from '../json';

/**
 * Images in a chat message: the checks and the `image_url` content parts the API takes
 * (`{"type": "image_url", "image_url": {"url": "https://..." | "data:image/png;base64,..."}}`).
 * Pure functions: reading n8n binary data is `binaryImages.ts`'s job.
 */

/** The image types vision models take (OpenAI's list, which Nebula Block's vLLM servers follow). */
export const IMAGE_MIME_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'] as const;

/** Per image: OpenAI's limit; a bigger image would only fail at the service after a long upload. */
export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;

export const IMAGE_DETAILS = ['auto', 'low', 'high'] as const;
export type ImageDetail = (typeof IMAGE_DETAILS)[number];

export interface TextPart {
	type: 'text';
	text: string;
}

export interface ImagePart {
	type: 'image_url';
	image_url: { url: string; detail?: ImageDetail };
}

export type ContentPart = TextPart | ImagePart;

/** A decoded image ready to send: its MIME type and bytes. */
export interface ImageBytes {
	mimeType: string;
	bytes: Buffer;
}

/** `image/jpg` is a common misspelling of `image/jpeg`; parameters (`; charset=`) are not part of the type. */
export function normalizeMimeType(mimeType: string | undefined): string {
	const type = (mimeType ?? '').split(';')[0].trim().toLowerCase();
	return type === 'image/jpg' ? 'image/jpeg' : type;
}

export function isAcceptedImageType(mimeType: string): boolean {
	return (IMAGE_MIME_TYPES as readonly string[]).includes(mimeType);
}

/** The image type the first bytes show, for files stored without a useful MIME type. */
export function sniffImageType(bytes: Buffer): string | undefined {
	if (bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.readUInt32BE(4) === 0x0d0a1a0a) return 'image/png';
	if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
	if (bytes.length >= 6 && /^GIF8[79]a$/.test(bytes.subarray(0, 6).toString('latin1'))) return 'image/gif';
	if (bytes.length >= 12 && bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
	return undefined;
}

export function formatBytes(size: number): string {
	if (size < 1024) return `${size} bytes`;
	if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KB`;
	return `${(size / (1024 * 1024)).toFixed(1)} MB`;
}

export function assertImageSize(size: number, where: string): void {
	if (size > MAX_IMAGE_BYTES) {
		throw new InputError(
			`${where} is ${formatBytes(size)} (${size} bytes), over the ${formatBytes(MAX_IMAGE_BYTES)} (${MAX_IMAGE_BYTES} bytes) limit for one image`,
			'Send a smaller image: resize or compress it first (e.g. with the Edit Image node), or give its URL so the service fetches it.',
		);
	}
}

export function assertImageType(mimeType: string, where: string): void {
	if (!isAcceptedImageType(mimeType)) {
		throw new InputError(
			`${where} is ${mimeType === '' ? 'a file without a MIME type' : `of type ${mimeType}`}, not an image the model can read`,
			`Vision models take ${IMAGE_MIME_TYPES.join(', ')}. Convert the file first, or pick the binary property that holds the image.`,
		);
	}
}

/** A binary image as the data URL the API takes. */
export function dataUrlOf(image: ImageBytes): string {
	return `data:${image.mimeType};base64,${image.bytes.toString('base64')}`;
}

export function imagePart(url: string, detail: ImageDetail | undefined): ImagePart {
	// "auto" is the service's default: leaving it out keeps servers that know no detail working.
	return { type: 'image_url', image_url: detail === undefined || detail === 'auto' ? { url } : { url, detail } };
}

const URL_HINT =
	'Give each image as an http(s) URL the service can fetch, or as a data URL like data:image/png;base64,iVBOR...; separate several with commas or new lines.';

/**
 * The Image URLs field: URLs separated by new lines, spaces or commas. A comma inside a data
 * URL (after `base64`) is its own and does not split it; an expression may give an array.
 */
export function splitImageUrls(value: unknown, where: string): string[] {
	if (value === undefined || value === null || value === '') return [];
	if (Array.isArray(value)) return value.map((url, index) => urlText(url, `${where}, URL ${index + 1}`));
	const text = urlText(value, where);
	// Split before each new URL start, never inside "data:...;base64,<data>".
	return text
		.split(/\s+|,\s*(?=https?:|data:)/i)
		.map((url) => url.replace(/^,+|,+$/g, ''))
		.filter((url) => url !== '');
}

function urlText(value: unknown, where: string): string {
	if (typeof value !== 'string') throw new InputError(`${where} is ${describeValue(value)}, not a URL`, URL_HINT);
	return value;
}

const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*);base64,([A-Za-z0-9+/=\s]*)$/i;

/** Checks one image URL (http(s) or a base64 data URL of an accepted image type) and returns it trimmed. */
export function checkImageUrl(value: unknown, where: string): string {
	const url = urlText(value, where).trim();
	if (url === '') throw new InputError(`${where} is empty`, URL_HINT);
	if (url.toLowerCase().startsWith('data:')) {
		const match = DATA_URL.exec(url);
		if (!match) throw new InputError(`${where} is a data URL that is not base64 image data`, URL_HINT);
		assertImageType(normalizeMimeType(match[1]), where);
		const data = match[3].replace(/\s+/g, '');
		if (data === '') throw new InputError(`${where} is a data URL without data`, URL_HINT);
		assertImageSize(Math.floor((data.length * 3) / 4) - (data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0), where);
		return url;
	}
	const parsed = parseUrl(url);
	if (parsed === undefined) throw new InputError(`${where} is not a valid URL: ${describeValue(url)}`, URL_HINT);
	if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
		throw new InputError(`${where} has the protocol ${parsed.protocol.replace(/:$/, '')}; only http, https and data URLs work`, URL_HINT);
	}
	return url;
}

function parseUrl(url: string): URL | undefined {
	try {
		return new URL(url);
	} catch {
		return undefined;
	}
}

const PARTS_HINT =
	'Content as an array takes parts like {"type": "text", "text": "What is in this image?"} and {"type": "image_url", "image_url": {"url": "https://..."}}.';

/**
 * Content parts from JSON messages (e.g. a chat history from an earlier node): each one text
 * or image_url with a url string, checked like a URL from the form. They go on unchanged.
 */
export function checkContentParts(parts: unknown[], where: string): ContentPart[] {
	if (parts.length === 0) throw new InputError(`${where} has content that is an empty array`, PARTS_HINT);
	return parts.map((part, index) => {
		const at = `${where}, content part ${index}`;
		if (!isObject(part)) throw new InputError(`${at} is ${describeValue(part)}, not an object`, PARTS_HINT);
		if (part.type === 'text') {
			if (typeof part.text !== 'string') throw new InputError(`${at} is a text part without a text string`, PARTS_HINT);
			return part as unknown as TextPart;
		}
		if (part.type === 'image_url') {
			const image = part.image_url;
			if (!isObject(image) || typeof image.url !== 'string') {
				throw new InputError(`${at} is an image_url part without image_url.url as a string`, PARTS_HINT);
			}
			checkImageUrl(image.url, `${at} (image_url.url)`);
			if (image.detail !== undefined && !(IMAGE_DETAILS as readonly unknown[]).includes(image.detail)) {
				throw new InputError(`${at} has image_url.detail ${JSON.stringify(image.detail)}: expected auto, low or high`, PARTS_HINT);
			}
			return part as unknown as ImagePart;
		}
		throw new InputError(`${at} has type ${JSON.stringify(part.type)}: expected "text" or "image_url"`, PARTS_HINT);
	});
}
