/*
 * mcpu_report_analysis.h: runs mcpu-report's queries (report/sql/) against
 * ClickHouse and turns their answers into the findings of mcpu_report.h:
 * the ranked suspects, the drill-down tree, and the charts' data.
 */

#ifndef MCPU_REPORT_ANALYSIS_H
#define MCPU_REPORT_ANALYSIS_H

#include <stddef.h>

#include "mcpu_report.h"


/**
 * @brief Fills r from ClickHouse, as conf says.  The queries run one after
 *        the other; each is logged at INFO with its rows and time.
 * @returns MCPU_REPORT_EXIT_OK, or MCPU_REPORT_EXIT_FAILED with a sentence
 *          in errstr (ClickHouse unreachable, no table mcpu.events, no
 *          event in the period, a query that failed or answered without a
 *          column the analysis needs).  r is to be freed in every case.
 */
int mcpu_report_analyse(mcpu_report_t *r, const mcpu_report_conf_t *conf,
    char *errstr, size_t errstr_size);

/**
 * @brief -t: every query loads and takes its parameters, and ClickHouse
 *        answers and has mcpu.events.
 * @returns MCPU_REPORT_EXIT_OK, or MCPU_REPORT_EXIT_FAILED (ClickHouse)
 *          or MCPU_REPORT_EXIT_CONFIG (a query) with a sentence in errstr.
 */
int mcpu_report_check(const mcpu_report_conf_t *conf, char *errstr,
    size_t errstr_size);

/** @brief Frees the findings; accepts a half-filled or zeroed r. */
void mcpu_report_free(mcpu_report_t *r);

/**
 * @brief The Wilson score interval's bound for k successes in n trials at
 *        z standard deviations: the lower one, or the upper one when
 *        upper is set.  n = 0 gives 0 (lower) or 1 (upper).
 */
double mcpu_report_wilson(uint64_t k, uint64_t n, double z, int upper);

/**
 * @brief z adjusted for m comparisons (Bonferroni): the z whose one-sided
 *        normal tail is z's divided by m.  z itself when z <= 0 or m <= 1.
 */
double mcpu_report_z_adjusted(double z, size_t m);

#endif /* MCPU_REPORT_ANALYSIS_H */
