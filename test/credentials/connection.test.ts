import { connectionFromCredential } from '../../nodes/shared/connection';

describe('the credential as the transport reads it', () => {
	it('Ignore SSL Issues, stored as ignoreSslIssues, and as allowUnauthorizedCerts by credentials saved before the rename', () => {
		expect(connectionFromCredential({ apiKey: 'k', ignoreSslIssues: true }).allowUnauthorizedCerts).toBe(true);
		expect(connectionFromCredential({ apiKey: 'k', allowUnauthorizedCerts: true }).allowUnauthorizedCerts).toBe(true);
		expect(connectionFromCredential({ apiKey: 'k', ignoreSslIssues: false }).allowUnauthorizedCerts).toBe(false);
		expect(connectionFromCredential({ apiKey: 'k' }).allowUnauthorizedCerts).toBe(false);
	});

	it('fills in the defaults a credential saved before a field existed lacks', () => {
		expect(connectionFromCredential({ apiKey: 'k' })).toMatchObject({
			baseUrl: 'https://inference.nebulablock.com/v1',
			textGenerateUrl: 'https://api.inference.nebulablock.com/v1',
		});
	});
});
