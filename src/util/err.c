// SPDX-License-Identifier: MIT
/*
 * Error recording and the stable names of error codes. The names appear in
 * logs and in JSON error bodies, so they never change once published.
 */
#include <stdarg.h>
#include <stdio.h>

#include "tam/err.h"

int
tam_err_set(struct tam_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return code;
	e->code = code;
	e->kind = NULL;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

int
tam_err_setk(struct tam_err *e, int code, const char *kind, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return code;
	e->code = code;
	e->kind = kind;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

const char *
tam_err_name(int code)
{
	switch (code) {
	case TAM_OK: return "ok";
	case TAM_EINVAL: return "invalid";
	case TAM_ENOMEM: return "no_memory";
	case TAM_EIO: return "io";
	case TAM_ENOTFOUND: return "not_found";
	case TAM_ECONFLICT: return "conflict";
	case TAM_ECRYPTO: return "crypto";
	case TAM_EDB: return "database";
	case TAM_EMALFORMED: return "malformed";
	case TAM_EUNSUPPORTED: return "unsupported";
	case TAM_EALG: return "algorithm";
	case TAM_ESIGNATURE: return "signature";
	case TAM_EDECRYPT: return "decrypt";
	case TAM_ECERT_UNTRUSTED: return "cert_untrusted";
	case TAM_ECERT_EXPIRED: return "cert_expired";
	case TAM_ECERT_INVALID: return "cert_invalid";
	case TAM_EDEVICE_UNKNOWN: return "device_unknown";
	case TAM_EDEVICE_MISMATCH: return "device_mismatch";
	case TAM_ERID_UNKNOWN: return "rid_unknown";
	case TAM_ERID_REPLAYED: return "rid_replayed";
	case TAM_ERID_EXPIRED: return "rid_expired";
	case TAM_EMSG_UNEXPECTED: return "unexpected_message";
	case TAM_ETOO_LARGE: return "too_large";
	case TAM_EDENIED: return "denied";
	case TAM_EUSAGE: return "usage";
	case TAM_EVERSION: return "version";
	case TAM_ECERT_REVOKED: return "cert_revoked";
	case TAM_ERATE_LIMITED: return "rate_limited";
	case TAM_EQUOTA: return "quota";
	case TAM_EBUSY: return "busy";
	default: return "unknown";
	}
}
