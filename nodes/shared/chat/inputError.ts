/**
 * A problem the user can fix (what they entered, or asked for, like Parse JSON Output on an
 * answer that is not JSON), found by a pure function that has no node to blame.
 * The operation turns it into a NodeOperationError with the item index; `description` says
 * how to fix it.
 */
export class ChatInputError extends Error {
	readonly description: string;

	constructor(message: string, description: string) {
		super(message);
		this.name = 'ChatInputError';
		this.description = description;
	}
}
