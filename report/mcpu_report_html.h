/*
 * mcpu_report_html.h: the findings as one self-contained HTML page for a
 * person (a head of product): the headline, the top suspect, the ranked
 * suspects (table and lift bars), the top suspects up close (the CPU
 * around the event against the group's usual CPU; one client's timeline),
 * the drill-down as a tree of <details>, and how it was computed.  Inline
 * CSS and SVG only: no script, no external resource, so it can be mailed,
 * archived or served as it is.
 *
 * The top suspect is the element with id "top-suspect", its parts in
 * elements of class "event", "version", "os" and "os-version".
 */

#ifndef MCPU_REPORT_HTML_H
#define MCPU_REPORT_HTML_H

#include <stddef.h>

#include "mcpu_report.h"


/**
 * @brief Writes the page to path, through a temporary file and rename().
 * @returns 0, or -1 with a sentence in errstr.
 */
int mcpu_report_html_write(const mcpu_report_t *r, const char *path,
    char *errstr, size_t errstr_size);

#endif /* MCPU_REPORT_HTML_H */
