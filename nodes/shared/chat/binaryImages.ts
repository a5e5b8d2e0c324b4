import type { IBinaryData, IExecuteFunctions } from 'n8n-workflow';

import { InputError } from '../inputError';
import {
	assertImageSize,
	assertImageType,
	checkImageUrl,
	dataUrlOf,
	IMAGE_DETAILS,
	imagePart,
	normalizeMimeType,
	sniffImageType,
	splitImageUrls,
	type ContentPart,
	type ImageBytes,
	type ImageDetail,
} from './images';

/** The Images collection of one Define Below message, as n8n hands it over. */
export interface DefinedImages {
	binaryProperties?: unknown;
	urls?: unknown;
	detail?: unknown;
}

/** Whether the Images collection names any image (the text may then be empty). */
export function hasImageSource(images: DefinedImages | undefined): boolean {
	if (!images) return false;
	return splitPropertyNames(images.binaryProperties).length > 0 || !isBlank(images.urls);
}

/**
 * A message's content with its images: the text first (when there is any), then the binary
 * images in the order named, then the URLs. Each image is checked before anything is sent.
 */
export async function contentWithImages(
	context: IExecuteFunctions,
	itemIndex: number,
	text: string,
	images: DefinedImages,
	where: string,
): Promise<ContentPart[]> {
	const detail = readDetail(images.detail, where);
	const parts: ContentPart[] = text.trim() === '' ? [] : [{ type: 'text', text }];
	for (const property of splitPropertyNames(images.binaryProperties)) {
		// One at a time: at most one image's bytes besides the data URLs already built.
		const image = await readBinaryImage(context, itemIndex, property, where);
		parts.push(imagePart(dataUrlOf(image), detail));
	}
	const urls = splitImageUrls(images.urls, `${where}, Image URLs`);
	urls.forEach((url, index) => {
		const at = urls.length === 1 ? `${where}, Image URLs` : `${where}, Image URLs (URL ${index + 1})`;
		parts.push(imagePart(checkImageUrl(url, at), detail));
	});
	return parts;
}

function readDetail(value: unknown, where: string): ImageDetail | undefined {
	if (value === undefined || value === '') return undefined;
	if (!(IMAGE_DETAILS as readonly unknown[]).includes(value)) {
		throw new InputError(`${where}, Image Detail is ${JSON.stringify(value)}: expected auto, low or high`, 'Pick Auto, Low or High for Image Detail.');
	}
	return value as ImageDetail;
}

function isBlank(value: unknown): boolean {
	if (value === undefined || value === null) return true;
	if (typeof value === 'string') return value.trim() === '';
	if (Array.isArray(value)) return value.length === 0;
	return false;
}

/** The Binary Properties field: names separated by commas (n8n's own convention, e.g. "data, attachment_0"). */
export function splitPropertyNames(value: unknown): string[] {
	if (Array.isArray(value)) return value.map(String).map((name) => name.trim()).filter((name) => name !== '');
	if (typeof value !== 'string') return [];
	return value.split(',').map((name) => name.trim()).filter((name) => name !== '');
}

/**
 * One image from a binary property of the input item, read with n8n's helpers so every binary
 * data mode works (memory, filesystem, S3). The size is checked from the stored metadata
 * before the bytes are read, so an oversized file is never loaded.
 */
export async function readBinaryImage(
	context: IExecuteFunctions,
	itemIndex: number,
	property: string,
	where: string,
): Promise<ImageBytes> {
	const at = `${where}, binary property "${property}"`;
	const binary = context.getInputData()[itemIndex]?.binary ?? {};
	if (binary[property] === undefined) {
		const present = Object.keys(binary);
		throw new InputError(
			`${where}: the item has no binary property "${property}"`,
			present.length === 0
				? 'This item has no binary data at all. Make sure the node before this one outputs the image as a file (e.g. HTTP Request with Response Format set to File).'
				: `This item has the binary properties ${present.map((name) => `"${name}"`).join(', ')}. Put one of them in Binary Properties.`,
		);
	}
	const data: IBinaryData = context.helpers.assertBinaryData(itemIndex, property);
	let mimeType = normalizeMimeType(data.mimeType);
	// A file stored as application/octet-stream may still be an image: checked on its bytes below.
	const untyped = mimeType === '' || mimeType === 'application/octet-stream';
	if (!untyped) assertImageType(mimeType, at);
	assertImageSize(await storedSize(context, data), at);
	const bytes = await context.helpers.getBinaryDataBuffer(itemIndex, property);
	assertImageSize(bytes.length, at);
	if (untyped) {
		const sniffed = sniffImageType(bytes);
		if (sniffed === undefined) assertImageType(mimeType, at);
		mimeType = sniffed ?? mimeType;
	}
	return { mimeType, bytes };
}

/** The size without reading the file: `bytes` (n8n 1.9x+), the store's metadata, or the base64 length. */
async function storedSize(context: IExecuteFunctions, data: IBinaryData): Promise<number> {
	const known = (data as IBinaryData & { bytes?: unknown }).bytes;
	if (typeof known === 'number') return known;
	if (data.id) {
		const metadata = await context.helpers.getBinaryMetadata(data.id);
		return metadata.fileSize;
	}
	const base64 = data.data ?? '';
	return Math.floor((base64.length * 3) / 4);
}
