import type { OptionValues } from '../options/collection';
import { DEFAULT_EMBEDDING_SETTINGS, type EmbeddingSettings, type TooLong } from './embed';

/** The embeddings options of a node (checked by their rules in readOptions), with the defaults for those left out. */
export function embeddingSettings(options: OptionValues): EmbeddingSettings {
	return {
		batchSize: options.batchSize ?? DEFAULT_EMBEDDING_SETTINGS.batchSize,
		stripNewLines: options.stripNewLines ?? DEFAULT_EMBEDDING_SETTINGS.stripNewLines,
		// The field's choices are the two modes, so its rule let only those through.
		tooLong: (options.textTooLong as TooLong | undefined) ?? DEFAULT_EMBEDDING_SETTINGS.tooLong,
	};
}
