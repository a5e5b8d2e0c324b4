/** "###, END" -> ['###', 'END']; blanks between commas are dropped. An expression may give a list. */
export function parseStopSequences(raw: unknown): string[] {
	const list = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? raw.split(',') : [];
	return list.map((sequence) => sequence.trim()).filter((sequence) => sequence !== '');
}
