/* SPDX-License-Identifier: MIT */
/*
 * The release version, shared by the daemon and the CLI (and reported by
 * /healthz, tam_build_info and `otrp-tamctl version`).
 */
#ifndef TAM_VERSION_H
#define TAM_VERSION_H

#ifndef TAMD_VERSION
#define TAMD_VERSION "0.2.0"
#endif

#endif
