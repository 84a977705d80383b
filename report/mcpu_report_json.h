/*
 * mcpu_report_json.h: the findings as JSON (jansson):
 *
 *   {"headline": "...",
 *    "suspects": [{"rank", "event", "version", "os", "osVersion" (null:
 *                  all), "lift", "liftLow", "support", "clients",
 *                  "followed", "pRise", "pRiseLow", "baseline",
 *                  "baselineHigh", "baselineMeasurements",
 *                  "example": {"client", "timeMs"} or null}, ...best first],
 *    "drilldown": {"cpuThreshold", "sustainS", "windowS", "sessions",
 *                  "over", "share", "episodes", "seen": [{"event",
 *                  "sessions", "share"}], "children": [{"version", ...,
 *                  "children": [{"os", ..., "children": [{"osVersion",
 *                  ...}]}]}]},
 *    "parameters": {...every threshold, the period},
 *    "period": {"first", "last", "clients", "sessions", "measurements"},
 *    "eligible": N, "rows": N}
 *
 * Only counts and what is computed from them: the same data give the same
 * bytes (no time of generation, no float sums whose order may vary).
 */

#ifndef MCPU_REPORT_JSON_H
#define MCPU_REPORT_JSON_H

#include <stddef.h>

#include "mcpu_report.h"


/**
 * @brief Writes the findings to path ("-": stdout), through a temporary
 *        file and rename() for a file.
 * @returns 0, or -1 with a sentence in errstr.
 */
int mcpu_report_json_write(const mcpu_report_t *r, const char *path,
    char *errstr, size_t errstr_size);

#endif /* MCPU_REPORT_JSON_H */
