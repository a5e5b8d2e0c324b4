import type { INodeProperties } from 'n8n-workflow';

/** Where the conversation comes from: a list in the form, or an expression giving an array. */
export const messageFields: INodeProperties[] = [
	{
		displayName: 'Source for Messages',
		name: 'messagesSource',
		type: 'options',
		options: [
			{
				name: 'Define Below',
				value: 'define',
				description: 'Write the messages in a list, in the order the model reads them',
			},
			{
				name: 'From JSON',
				value: 'json',
				description: 'Take an array of {role, content} from an expression, e.g. a chat history from an earlier node',
			},
		],
		default: 'define',
	},
	{
		displayName: 'Messages',
		name: 'messages',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		placeholder: 'Add Message',
		default: { values: [{ role: 'user', content: '' }] },
		displayOptions: { show: { messagesSource: ['define'] } },
		options: [
			{
				displayName: 'Message',
				name: 'values',
				values: [
					{
						displayName: 'Role',
						name: 'role',
						type: 'options',
						options: [
							{ name: 'Assistant', value: 'assistant', description: 'An earlier answer of the model' },
							{ name: 'System', value: 'system', description: 'Instructions that set how the model behaves' },
							{ name: 'User', value: 'user', description: 'What the person asks or says' },
						],
						default: 'user',
					},
					{
						displayName: 'Content',
						name: 'content',
						type: 'string',
						typeOptions: { rows: 3 },
						default: '',
						placeholder: 'e.g. Summarise this text in one sentence',
						description: 'The text of the message',
					},
					{
						displayName: 'Images',
						name: 'images',
						type: 'collection',
						placeholder: 'Add Image',
						default: {},
						displayOptions: { show: { role: ['user'] } },
						description:
							'Pictures the model looks at with this message. Needs a vision model, e.g. Qwen/Qwen2.5-VL-7B-Instruct.',
						options: [
							{
								displayName: 'Binary Properties',
								name: 'binaryProperties',
								type: 'string',
								default: 'data',
								placeholder: 'e.g. data, attachment_0',
								description:
									'Names of binary properties of the input item that hold images (PNG, JPEG, WebP or GIF, up to 20 MB each), separated by commas',
							},
							{
								displayName: 'Image Detail',
								name: 'detail',
								type: 'options',
								options: [
									{ name: 'Auto', value: 'auto', description: 'Let the model choose' },
									{ name: 'High', value: 'high', description: 'Look at the image in full resolution (more tokens)' },
									{ name: 'Low', value: 'low', description: 'Look at a small version of the image (fewer tokens)' },
								],
								default: 'auto',
								description: 'How closely the model looks at the images, where the model supports it',
							},
							{
								displayName: 'Image URLs',
								name: 'urls',
								type: 'string',
								default: '',
								placeholder: 'e.g. https://example.com/photo.jpg',
								description:
									'Links the service downloads the images from, or data URLs (data:image/png;base64,...). Separate several with commas or new lines.',
							},
						],
					},
				],
			},
		],
	},
	{
		displayName: 'Messages (JSON)',
		name: 'messagesJson',
		type: 'json',
		default: '[\n  {"role": "user", "content": "Hello"}\n]',
		displayOptions: { show: { messagesSource: ['json'] } },
		description:
			'An array of messages, each with a role (system, user, assistant or tool) and content. Use an expression to take a chat history from an earlier node. A message that is not valid stops the item with an error naming its index.',
	},
	{
		displayName: 'System Message',
		name: 'systemMessage',
		type: 'string',
		typeOptions: { rows: 2 },
		default: '',
		placeholder: 'e.g. You are a helpful assistant. Answer in one short paragraph.',
		description: 'Instructions sent first, before the messages. Leave empty to send none.',
	},
];
