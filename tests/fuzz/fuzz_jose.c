// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the JOSE parsers: a flattened JWS (parse, then
 * verify against a fixed key) and a JWE (decrypt with a fixed private key),
 * both from hostile JSON. Verification and decryption must fail cleanly.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tam/jose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A fixed RSA-2048 key made for this harness only (public test material), so
 * seeds encrypted to it reach the code after a successful decryption.
 */
static const char test_key_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDNDlqHCkPHN/ww\n"
	"3JrreoeyEEtSZpjuXSrwbSqT3BXP35VQL9aBeXtFFSYhh6HdDdfQv8C/NRaaC+jW\n"
	"lTV578E0YXoQvNLXaFbSZkCYFoKllZ0fgCc0O6Jqn+sHdiXMeLMo9hw5PLZ3RVnB\n"
	"/KaiDW1tyUwIsX+ZdlnMlGM/5ndOSrUQjlOEgfHiFgNWZLy9Hbi+ZK+AalnbozpA\n"
	"Sbzv9Yw/p7VhlELiuBVx6wtg0uO78bIgME5WaWS79hZZhAUw5eXgLcDuAl3FbRhL\n"
	"y2+HskQO/skGAtTyJ9bquriLLvSibG7f1lpF1UXR0DON/BVPL0Z0grl36jgQk08/\n"
	"lS0EpIoBAgMBAAECggEAMGIUIyvdXTrNAxxyY2CIdw/YLeuuZwPNt2gStUunS+Km\n"
	"AQMgmnE3EFBSrHOr0hRLmWI9UQBuQk/QEx2mvgw/qqPbYOqk1xWz8rYUxK3/CqH4\n"
	"LnAXEACILJ9qHdsXRR0vrNkRRMIaDZ9r89Uw3ijL6q0mByEWife+bYKPvoqbGPok\n"
	"Pll9De8SbFBlJVE9JMMnTKieYwfvl2+VNReHQbc6lGDvl23OGkgYDSHoXW1TZ6gZ\n"
	"cM+jUECxMY/FCCq7zOxSd73wGDQD+VPdh4rYTnarSiHi7XTLjxBftmmdPJ2IBcih\n"
	"aDZTX2We6bXLvXuSWOqGpQILRblMcqU6QpAqIQcVKQKBgQD2x0gXzs+mfyAvlMHm\n"
	"K/10SCw7AFvVkzt6GI0YxvdlZ1JAA0RFp7i6Z/1xzOo00Mjn0Ure+gkpcSB87CU8\n"
	"rQdzjF+/hyVvg8e3y5Hs6ZDCCI+haDHyMhB2hF/9quf5O4IAnq8C8e9G5YJhqhsD\n"
	"UiR/b1VhRBgRHNZQdm2AXvB5lQKBgQDUt/MgzxkjIFyvTGtlThkGBvzybJle50xh\n"
	"9CfQM3KUNvIvrHIu6TIGetOPCw2Lx9jiqYi/x3RMG62AVKpmN26TxINzxT3slkMI\n"
	"np0XfAT8zzYyJeuOR7yby3nVpnIhct/Q0WceSIzMzAa9x4PeJ5MESCfvRYzdvPAc\n"
	"WS+LDcPrvQKBgQC5PjBMxs6y8ZyMewLuL7lLD148T/Gfqays4z8PCVPuR5fDO3CF\n"
	"RPhy3NqwER0B1nPpJ/8mz9QOyr+TZoQxPsVoJEg/ckhUpDxIKER67XzfWiPPCnLr\n"
	"lk8rWATiWudU/CmDI5rGACwYMPIlM9ahMIj7K+yQXdgfCGGL9soN4bZr3QKBgQDT\n"
	"h9VTU/6ISr9AZzsI85+4uaxCGrJtiI8RfW02AmM3dmhh9hdaBPWFMhE9Vt1ymhpY\n"
	"VASzyVEh+ggP7KHCoe7pLOsXbhZFNauVX72Rw/dlu10Gg2T6COZK+w294xXto0Fk\n"
	"c0ga+kRhx6YQhN3iRfJRuLtVmhEZ06/mUN4RZm/k9QKBgBJBvg+cK5bzeD6UD/Z4\n"
	"jzWF4gcdBLQCpitjUd9IK2NFQ8wMe0LSVmaoxdVmbvkG9IFAf5HciUowGH52kzh7\n"
	"w5g3kPiCiQJ1nGlswZ0iIDt38p4zd6qmmtIsmPwtFgHiRLkEN4SkUrY5iccLcSs/\n"
	"kaIXsNbyBRr17JDz0+Fw9ZW/\n"
	"-----END PRIVATE KEY-----\n";

/* And a fixed P-256 key, so ECDH-ES+A128KW seeds reach their unwrap. */
static const char test_ec_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgP1GyIlY4PDw8eZI0\n"
	"Twr5lNMslBptuQhR2z8l+p7ULCChRANCAARTzSIA2V3TwWj5OGd0fe0sWyTktZMS\n"
	"zYIkJ2AZx8UB/oNMbxjAKrnZi/mcDm7iIRdjze1ss7o/Dc75NZUgNNSi\n"
	"-----END PRIVATE KEY-----\n";

static struct jose_key *key, *ec_key;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jose_jws *jws = NULL;
	uint8_t *pt = NULL;
	size_t len = 0;
	json_t *doc;

	if (key == NULL && jose_key_from_pem((const uint8_t *)test_key_pem,
	    sizeof(test_key_pem) - 1, &key, NULL) != TAM_OK)
		abort();
	if (ec_key == NULL && jose_key_from_pem((const uint8_t *)test_ec_pem,
	    sizeof(test_ec_pem) - 1, &ec_key, NULL) != TAM_OK)
		abort();
	doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (doc == NULL)
		return 0;
	if (jose_jws_parse(doc, &jws, NULL) == TAM_OK) {
		if (jose_jws_verify(jws, key, NULL) == TAM_OK)
			(void)jose_jws_payload_unverified(jws, &len);
		jose_jws_free(jws);
	}
	if (jose_jwe_decrypt(key, doc, &pt, &len, NULL) == TAM_OK)
		free(pt);
	pt = NULL;
	if (jose_jwe_decrypt(ec_key, doc, &pt, &len, NULL) == TAM_OK)
		free(pt);
	{
		char alg[JOSE_ALG_MAX], enc[JOSE_ALG_MAX];
		/* Whatever it names, it is an allowed name that fits its buffer. */
		if (jose_jwe_suite(doc, alg, enc, NULL) == TAM_OK &&
		    (strlen(alg) >= JOSE_ALG_MAX || strlen(enc) >= JOSE_ALG_MAX))
			abort();
	}
	json_decref(doc);
	return 0;
}
