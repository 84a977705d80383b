/*
 * mcpu_report_html.c: the page.  See mcpu_report_html.h.
 *
 * Written top to bottom with stdio; every text that comes from the data
 * goes through mcpu_report_html_text(), which escapes it.  The charts are
 * SVG drawn here: lift bars, the CPU around a suspect's occurrences, and
 * one client's timeline.
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcpu_report_html.h"


/* the lift bars */
#define MCPU_REPORT_BARS_W        960
#define MCPU_REPORT_BARS_LABEL    380      /* the labels' column */
#define MCPU_REPORT_BARS_ROW      28
#define MCPU_REPORT_BARS_MAX      10       /* bars, at most */

/* the charts' plot area inside their SVG */
#define MCPU_REPORT_CHART_LEFT    48
#define MCPU_REPORT_CHART_RIGHT   28
#define MCPU_REPORT_CHART_TOP     16
#define MCPU_REPORT_CHART_BOTTOM  40

#define MCPU_REPORT_TYPES_MAX     10       /* colours of the timeline */


static const char  *mcpu_report_html_palette[MCPU_REPORT_TYPES_MAX] = {
    "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f", "#393b79", "#8c6d31"
};

#define MCPU_REPORT_HTML_SUSPECT_COLOUR  "#d62728"


static void mcpu_report_html_head(FILE *f, const mcpu_report_t *r);
static void mcpu_report_html_top(FILE *f, const mcpu_report_t *r);
static void mcpu_report_html_suspects(FILE *f, const mcpu_report_t *r);
static void mcpu_report_html_bars(FILE *f, const mcpu_report_t *r);
static void mcpu_report_html_table(FILE *f, const mcpu_report_t *r);
static void mcpu_report_html_close_ups(FILE *f, const mcpu_report_t *r);
static void mcpu_report_html_profile(FILE *f, const mcpu_report_t *r,
    size_t i);
static void mcpu_report_html_timeline(FILE *f, const mcpu_report_t *r);
static void mcpu_report_html_drilldown(FILE *f, const mcpu_report_t *r);
static void mcpu_report_html_node(FILE *f, const mcpu_report_t *r,
    const mcpu_report_node_t *node, const mcpu_report_node_t *parent,
    int open);
static void mcpu_report_html_method(FILE *f, const mcpu_report_t *r);
static void mcpu_report_html_text(FILE *f, const char *s);
static void mcpu_report_html_value(FILE *f, const char *s);
static void mcpu_report_html_suspect_name(FILE *f,
    const mcpu_report_suspect_t *s);
static double mcpu_report_html_nice(double v);


int
mcpu_report_html_write(const mcpu_report_t *r, const char *path,
    char *errstr, size_t errstr_size)
{
    char   tmp[PATH_MAX];
    FILE  *f;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long) getpid())
        >= (int) sizeof(tmp))
    {
        snprintf(errstr, errstr_size, "option \"html\": path too long");
        return -1;
    }

    f = fopen(tmp, "we");
    if (f == NULL) {
        snprintf(errstr, errstr_size, "cannot create \"%s\" (option "
                 "\"html\"): %s", tmp, strerror(errno));
        return -1;
    }

    mcpu_report_html_head(f, r);
    mcpu_report_html_top(f, r);
    mcpu_report_html_suspects(f, r);
    mcpu_report_html_close_ups(f, r);
    mcpu_report_html_drilldown(f, r);
    mcpu_report_html_method(f, r);
    fputs("</main>\n</body>\n</html>\n", f);

    if (ferror(f) || fclose(f) != 0) {
        snprintf(errstr, errstr_size, "writing \"%s\" failed: %s", tmp,
                 strerror(errno));
        unlink(tmp);
        return -1;
    }

    if (rename(tmp, path) != 0) {
        snprintf(errstr, errstr_size, "rename(\"%s\", \"%s\") failed: %s",
                 tmp, path, strerror(errno));
        unlink(tmp);
        return -1;
    }

    return 0;
}


static void
mcpu_report_html_head(FILE *f, const mcpu_report_t *r)
{
    char       first[40], last[40], now[40];
    time_t     t;
    struct tm  tm;

    mcpu_report_time_text(r->first_ms, first, sizeof(first));
    mcpu_report_time_text(r->last_ms, last, sizeof(last));
    t = time(NULL);
    gmtime_r(&t, &tm);
    strftime(now, sizeof(now), "%Y-%m-%d %H:%M UTC", &tm);

    fputs("<!DOCTYPE html>\n"
          "<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, "
          "initial-scale=1\">\n"
          "<title>mcpu report: what coincides with a rising CPU</title>\n"
          "<style>\n"
          "body { font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', "
          "Roboto, 'DejaVu Sans', sans-serif; color: #222; margin: 0; "
          "background: #f6f7f9; }\n"
          "main { max-width: 1040px; margin: 0 auto; padding: 24px 32px "
          "48px; background: #fff; }\n"
          "h1 { font-size: 26px; margin: 0 0 4px; }\n"
          "h2 { font-size: 19px; margin: 36px 0 8px; border-bottom: 1px solid "
          "#e3e5e8; padding-bottom: 4px; }\n"
          ".meta { color: #666; font-size: 13px; margin: 0 0 20px; }\n"
          ".headline { font-size: 19px; line-height: 1.5; margin: 12px 0 "
          "20px; }\n"
          "#top-suspect { border-left: 6px solid #d62728; background: "
          "#fdf1f1; padding: 12px 18px; margin: 0 0 8px; }\n"
          "#top-suspect .what { font-size: 22px; font-weight: 600; }\n"
          "#top-suspect .event { color: #b01c1d; }\n"
          "#top-suspect .nums { color: #444; margin-top: 4px; }\n"
          ".label { text-transform: uppercase; letter-spacing: .06em; "
          "font-size: 12px; color: #a33; }\n"
          ".none { border-left: 6px solid #2ca02c; background: #f0f8f0; "
          "padding: 12px 18px; }\n"
          "table { border-collapse: collapse; width: 100%; font-size: 13.5px; "
          "margin-top: 12px; }\n"
          "th, td { padding: 5px 8px; border-bottom: 1px solid #eceef0; "
          "text-align: left; }\n"
          "th { background: #f3f4f6; font-weight: 600; }\n"
          "td.n, th.n { text-align: right; font-variant-numeric: "
          "tabular-nums; }\n"
          "tr.first td { background: #fdf1f1; font-weight: 600; }\n"
          "svg { display: block; max-width: 100%; height: auto; }\n"
          "svg text { font: 12px system-ui, 'DejaVu Sans', sans-serif; "
          "fill: #333; }\n"
          "svg .axis { stroke: #999; stroke-width: 1; }\n"
          "svg .grid { stroke: #e6e6e6; stroke-width: 1; }\n"
          ".charts { display: flex; flex-wrap: wrap; gap: 16px; }\n"
          "figure { margin: 8px 0; flex: 1 1 300px; }\n"
          "figcaption { font-size: 13.5px; color: #333; margin-bottom: 4px; "
          "}\n"
          ".legend { font-size: 12.5px; color: #555; }\n"
          ".legend span { display: inline-block; margin-right: 14px; }\n"
          ".legend i { display: inline-block; width: 12px; height: 12px; "
          "margin-right: 4px; vertical-align: -1px; }\n"
          "details { margin: 4px 0 4px 18px; }\n"
          "details > summary { cursor: pointer; padding: 3px 0; }\n"
          "#drilldown > details { margin-left: 0; }\n"
          ".bar { display: inline-block; width: 120px; height: 10px; "
          "background: #eceef0; margin-right: 8px; vertical-align: 0; }\n"
          ".bar > span { display: block; height: 10px; background: #d62728; "
          "}\n"
          ".seen { color: #555; font-size: 13.5px; margin: 2px 0 6px 26px; "
          "}\n"
          ".muted { color: #777; }\n"
          "dl { display: grid; grid-template-columns: max-content auto; "
          "gap: 4px 16px; font-size: 14px; }\n"
          "dt { font-weight: 600; }\n"
          "dd { margin: 0; }\n"
          "</style>\n</head>\n<body>\n<main>\n", f);

    fputs("<h1>CPU on the clients: what coincides with a rising CPU</h1>\n",
          f);
    fprintf(f, "<p class=\"meta\">Events from %s to %s &middot; %" PRIu64
            " events &middot; %" PRIu64 " CPU measurements &middot; %" PRIu64
            " clients &middot; %" PRIu64 " sessions &middot; generated %s "
            "by mcpu-report</p>\n", first, last, r->rows, r->measurements,
            r->clients, r->sessions, now);
}


static void
mcpu_report_html_top(FILE *f, const mcpu_report_t *r)
{
    char                          headline[2048], p[16], b[16];
    const mcpu_report_suspect_t  *s;

    mcpu_report_headline(r, headline, sizeof(headline));
    fputs("<p class=\"headline\" id=\"headline\">", f);
    mcpu_report_html_text(f, headline);
    fputs("</p>\n", f);

    if (r->nranked == 0) {
        fputs("<section class=\"none\" id=\"no-suspect\"><b>No suspect.</b> "
              "No event type, in any group of clients with enough data, is "
              "followed by a fast CPU rise clearly more often than an "
              "arbitrary moment is.</section>\n", f);
        return;
    }

    s = r->ranked[0];

    fprintf(f, "<section id=\"top-suspect\">\n<div class=\"label\">%s</div>\n"
            "<div class=\"what\">", s->score >= MCPU_REPORT_STRONG
            ? "Top suspect" : "Strongest candidate: a weak lead");
    mcpu_report_html_suspect_name(f, s);
    fprintf(f, "</div>\n<div class=\"nums\">followed by a fast CPU rise "
            "<b>%s</b> of the time (%" PRIu64 " of %" PRIu64 " occurrences, %"
            PRIu64 " clients), against <b>%s</b> after an arbitrary moment "
            "of the same clients: <b>%.1f&times;</b> the usual rate (at "
            "least %.1f&times;, allowing for chance over all %zu "
            "comparisons).</div>\n</section>\n",
            mcpu_report_pct(s->p, p, sizeof(p)), s->followed,
            s->occurrences, s->clients,
            mcpu_report_pct(s->b, b, sizeof(b)), s->lift, s->score,
            r->eligible);
}


static void
mcpu_report_html_suspects(FILE *f, const mcpu_report_t *r)
{
    fprintf(f, "<section id=\"suspects\">\n<h2>Suspects: events followed by "
            "a fast CPU rise</h2>\n<p>For each event type and group of "
            "clients (version, OS, OS version, or coarser), the share of its "
            "occurrences followed within %ld s by a rise of at least %g CPU "
            "points between two measurements of the same client, compared "
            "with the same share after an arbitrary measurement of the "
            "group's clients (the usual rate).  The <b>lift</b> is their "
            "ratio; the suspects are ranked by the <b>conservative "
            "lift</b>, the lift the data support with confidence, so that "
            "a handful of occurrences cannot top the list.  %zu event "
            "types and groups had at least %ld occurrences from %ld "
            "clients, %ld of them followed by a rise.</p>\n",
            r->conf->window_s, r->conf->rise, r->eligible,
            r->conf->min_support, r->conf->min_clients,
            r->conf->min_followed);

    if (r->nranked == 0) {
        fputs("<p class=\"muted\">None is followed by a fast rise more "
              "often than usual.</p>\n</section>\n", f);
        return;
    }

    mcpu_report_html_bars(f, r);
    mcpu_report_html_table(f, r);
    fputs("</section>\n", f);
}


/* one bar per suspect: light to the lift, dark to the conservative lift,
 * a line at 1x (the usual rate) */
static void
mcpu_report_html_bars(FILE *f, const mcpu_report_t *r)
{
    int                           h, y;
    char                          group[256];
    double                        max, x, w, tick, step;
    size_t                        i, n;
    const mcpu_report_suspect_t  *s;

    n = r->nranked < MCPU_REPORT_BARS_MAX ? r->nranked : MCPU_REPORT_BARS_MAX;
    h = (int) n * MCPU_REPORT_BARS_ROW + 44;
    w = MCPU_REPORT_BARS_W - MCPU_REPORT_BARS_LABEL - 70;

    max = 1;
    for (i = 0; i < n; i++) {
        if (isfinite(r->ranked[i]->lift) && r->ranked[i]->lift > max) {
            max = r->ranked[i]->lift;
        }
    }

    max = mcpu_report_html_nice(max);
    step = mcpu_report_html_nice(max / 5);

    fprintf(f, "<svg id=\"lift-bars\" class=\"chart\" "
            "xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
            "width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"Lift of "
            "each suspect\">\n", MCPU_REPORT_BARS_W, h, MCPU_REPORT_BARS_W, h);

    /* the scale */
    for (tick = 0; tick <= max + step / 2; tick += step) {
        x = MCPU_REPORT_BARS_LABEL + tick / max * w;
        fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"8\" x2=\"%.1f\" "
                "y2=\"%d\"/>\n<text x=\"%.1f\" y=\"%d\" "
                "text-anchor=\"middle\">%g&times;</text>\n", x, x, h - 26, x,
                h - 10, tick);
    }

    for (i = 0; i < n; i++) {
        s = r->ranked[i];
        y = 12 + (int) i * MCPU_REPORT_BARS_ROW;
        mcpu_report_group_text(&s->group, group, sizeof(group));

        fprintf(f, "<g class=\"suspect-bar\"><title>");
        mcpu_report_html_text(f, s->type);
        fputs(" on ", f);
        mcpu_report_html_text(f, group);
        fprintf(f, ": lift %.2f, conservative %.2f</title>\n", s->lift,
                s->score);

        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">",
                MCPU_REPORT_BARS_LABEL - 8, y + 15);
        mcpu_report_html_text(f, s->type);
        fputs(" &middot; ", f);
        mcpu_report_html_text(f, group);
        fputs("</text>\n", f);

        fprintf(f, "<rect class=\"lift\" x=\"%d\" y=\"%d\" width=\"%.1f\" "
                "height=\"20\" fill=\"%s\" fill-opacity=\"0.35\"/>\n",
                MCPU_REPORT_BARS_LABEL, y, fmin(s->lift, max) / max * w,
                i == 0 ? MCPU_REPORT_HTML_SUSPECT_COLOUR : "#1f77b4");
        fprintf(f, "<rect class=\"lift-low\" x=\"%d\" y=\"%d\" "
                "width=\"%.1f\" height=\"20\" fill=\"%s\"/>\n",
                MCPU_REPORT_BARS_LABEL, y, fmin(s->score, max) / max * w,
                i == 0 ? MCPU_REPORT_HTML_SUSPECT_COLOUR : "#1f77b4");
        fprintf(f, "<text x=\"%.1f\" y=\"%d\">%.1f&times;</text>\n</g>\n",
                MCPU_REPORT_BARS_LABEL + fmin(s->lift, max) / max * w + 6,
                y + 15, s->lift);
    }

    x = MCPU_REPORT_BARS_LABEL + 1 / max * w;
    fprintf(f, "<line x1=\"%.1f\" y1=\"6\" x2=\"%.1f\" y2=\"%d\" "
            "stroke=\"#333\" stroke-dasharray=\"3 3\"/>\n</svg>\n", x, x,
            h - 26);
    fputs("<div class=\"legend\"><span><i style=\"background:#1f77b4\"></i>"
          "conservative lift</span><span><i style=\"background:#1f77b4;"
          "opacity:.35\"></i>lift</span><span>dashed line: the usual rate "
          "(1&times;)</span></div>\n", f);
}


static void
mcpu_report_html_table(FILE *f, const mcpu_report_t *r)
{
    char                          p[16], b[16];
    size_t                        i;
    const mcpu_report_suspect_t  *s;

    fputs("<table id=\"suspect-table\">\n<thead><tr><th class=\"n\">#</th>"
          "<th>Event</th><th>Version</th><th>OS</th><th>OS version</th>"
          "<th class=\"n\">Occurrences</th><th class=\"n\">Clients</th>"
          "<th class=\"n\">Followed by a rise</th>"
          "<th class=\"n\">Usual rate</th><th class=\"n\">Lift</th>"
          "<th class=\"n\">Conservative lift</th></tr></thead>\n<tbody>\n",
          f);

    for (i = 0; i < r->nranked; i++) {
        s = r->ranked[i];

        fprintf(f, "<tr%s><td class=\"n\">%zu</td><td>",
                i == 0 ? " class=\"first\"" : "", i + 1);
        mcpu_report_html_text(f, s->type);
        fputs("</td><td>", f);
        if (s->group.level & MCPU_REPORT_BY_VERSION) {
            mcpu_report_html_value(f, s->group.version);
        } else {
            fputs("<span class=\"muted\">all</span>", f);
        }
        fputs("</td><td>", f);
        if (s->group.level & MCPU_REPORT_BY_OS) {
            mcpu_report_html_value(f, s->group.os);
        } else {
            fputs("<span class=\"muted\">all</span>", f);
        }
        fputs("</td><td>", f);
        if (s->group.level & MCPU_REPORT_BY_OS_VERSION) {
            mcpu_report_html_value(f, s->group.os_version);
        } else {
            fputs("<span class=\"muted\">all</span>", f);
        }

        fprintf(f, "</td><td class=\"n\">%" PRIu64 "</td><td class=\"n\">%"
                PRIu64 "</td><td class=\"n\">%s <span class=\"muted\">(%"
                PRIu64 ")</span></td><td class=\"n\">%s</td>"
                "<td class=\"n\">%.1f&times;</td><td class=\"n\">%.1f&times;"
                "</td></tr>\n", s->occurrences, s->clients,
                mcpu_report_pct(s->p, p, sizeof(p)), s->followed,
                mcpu_report_pct(s->b, b, sizeof(b)), s->lift, s->score);
    }

    fputs("</tbody>\n</table>\n", f);
}


static void
mcpu_report_html_close_ups(FILE *f, const mcpu_report_t *r)
{
    size_t  i;

    if (r->nclose_up == 0) {
        return;
    }

    fprintf(f, "<section id=\"close-ups\">\n<h2>The top suspects up "
            "close</h2>\n<p>The mean CPU of the group's clients from %d s "
            "before to %d s after each occurrence of the event (red), "
            "against the group's mean CPU over the whole period (dashed). "
            "The shaded band is the %ld s in which a rise counts as "
            "following the event.</p>\n<div class=\"charts\">\n",
            MCPU_REPORT_PROFILE_BEFORE_MS / 1000,
            MCPU_REPORT_PROFILE_AFTER_MS / 1000, r->conf->window_s);

    for (i = 0; i < r->nclose_up; i++) {
        mcpu_report_html_profile(f, r, i);
    }

    fputs("</div>\n", f);
    mcpu_report_html_timeline(f, r);
    fputs("</section>\n", f);
}


/* the CPU around the suspect's occurrences, against the group's mean */
static void
mcpu_report_html_profile(FILE *f, const mcpu_report_t *r, size_t i)
{
    int                            W = 460, H = 260, first;
    char                           group[256];
    double                         pw, ph, ymax, step, t, x, y, x0, x1;
    size_t                         j;
    const mcpu_report_close_up_t  *cu = &r->close_up[i];

    pw = W - MCPU_REPORT_CHART_LEFT - MCPU_REPORT_CHART_RIGHT;
    ph = H - MCPU_REPORT_CHART_TOP - MCPU_REPORT_CHART_BOTTOM;

    ymax = cu->mean_cpu;
    for (j = 0; j < cu->npoints; j++) {
        ymax = fmax(ymax, cu->points[j].cpu);
    }
    ymax = fmin(100, mcpu_report_html_nice(fmax(ymax * 1.1, 10)));
    step = mcpu_report_html_nice(ymax / 5);

#define MCPU_REPORT_X(ms)                                                    \
    (MCPU_REPORT_CHART_LEFT                                                  \
     + ((ms) + MCPU_REPORT_PROFILE_BEFORE_MS) * pw                           \
       / (MCPU_REPORT_PROFILE_BEFORE_MS + MCPU_REPORT_PROFILE_AFTER_MS))
#define MCPU_REPORT_Y(v)                                                     \
    (MCPU_REPORT_CHART_TOP + ph - (v) / ymax * ph)

    mcpu_report_group_text(&cu->suspect->group, group, sizeof(group));

    fprintf(f, "<figure class=\"profile\">\n<figcaption><b>#%zu</b> ", i + 1);
    mcpu_report_html_text(f, cu->suspect->type);
    fputs(" on ", f);
    mcpu_report_html_text(f, group);
    fprintf(f, " <span class=\"muted\">(%" PRIu64 " occurrences)</span>"
            "</figcaption>\n", cu->suspect->occurrences);

    fprintf(f, "<svg class=\"chart profile-chart\" "
            "xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
            "width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"Mean CPU "
            "around the event\">\n", W, H, W, H);

    /* the window in which a rise counts */
    x0 = MCPU_REPORT_X(0);
    x1 = MCPU_REPORT_X(fmin(r->conf->window_s * 1000.0,
                            MCPU_REPORT_PROFILE_AFTER_MS));
    fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%.1f\" "
            "fill=\"#d62728\" fill-opacity=\"0.08\"/>\n", x0,
            MCPU_REPORT_CHART_TOP, x1 - x0, ph);

    for (t = 0; t <= ymax + step / 2; t += step) {
        y = MCPU_REPORT_Y(t);
        fprintf(f, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" "
                "y2=\"%.1f\"/>\n<text x=\"%d\" y=\"%.1f\" "
                "text-anchor=\"end\">%g%%</text>\n", MCPU_REPORT_CHART_LEFT,
                y, MCPU_REPORT_CHART_LEFT + pw, y,
                MCPU_REPORT_CHART_LEFT - 6, y + 4, t);
    }

    for (t = -MCPU_REPORT_PROFILE_BEFORE_MS; t <= MCPU_REPORT_PROFILE_AFTER_MS;
         t += 15000)
    {
        x = MCPU_REPORT_X(t);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
                "%+.0f s</text>\n", x, MCPU_REPORT_CHART_TOP + ph + 16,
                t / 1000);
    }

    fprintf(f, "<line class=\"axis\" x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" "
            "y2=\"%.1f\"/>\n", MCPU_REPORT_CHART_LEFT,
            MCPU_REPORT_CHART_TOP + ph, MCPU_REPORT_CHART_LEFT + pw,
            MCPU_REPORT_CHART_TOP + ph);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" "
            "class=\"muted\">seconds from the event</text>\n",
            MCPU_REPORT_CHART_LEFT + pw / 2, H - 4);

    /* the event */
    fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"#d62728\" stroke-width=\"1.5\"/>\n<text x=\"%.1f\" "
            "y=\"%d\" fill=\"#d62728\">event</text>\n", x0,
            MCPU_REPORT_CHART_TOP, x0, MCPU_REPORT_CHART_TOP + ph, x0 + 4,
            MCPU_REPORT_CHART_TOP + 12);

    /* the group's mean CPU */
    y = MCPU_REPORT_Y(cu->mean_cpu);
    fprintf(f, "<line class=\"mean\" x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" "
            "y2=\"%.1f\" stroke=\"#555\" stroke-width=\"1.5\" "
            "stroke-dasharray=\"6 4\"><title>the group's mean CPU: %.1f%%"
            "</title></line>\n", MCPU_REPORT_CHART_LEFT, y,
            MCPU_REPORT_CHART_LEFT + pw, y, cu->mean_cpu);

    /* the CPU around the event: the middle of each step */
    fputs("<polyline class=\"around\" fill=\"none\" stroke=\"#d62728\" "
          "stroke-width=\"2.5\" points=\"", f);
    first = 1;
    for (j = 0; j < cu->npoints; j++) {
        x = MCPU_REPORT_X(cu->points[j].offset_ms
                          + MCPU_REPORT_PROFILE_STEP_MS / 2.0);
        fprintf(f, "%s%.1f,%.1f", first ? "" : " ", x,
                MCPU_REPORT_Y(fmin(cu->points[j].cpu, ymax)));
        first = 0;
    }
    fputs("\"/>\n", f);

    for (j = 0; j < cu->npoints; j++) {
        x = MCPU_REPORT_X(cu->points[j].offset_ms
                          + MCPU_REPORT_PROFILE_STEP_MS / 2.0);
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#d62728\">"
                "<title>%+.0f s: %.1f%% (%" PRIu64 " measurements)</title>"
                "</circle>\n", x,
                MCPU_REPORT_Y(fmin(cu->points[j].cpu, ymax)),
                cu->points[j].offset_ms / 1000.0, cu->points[j].cpu,
                cu->points[j].measurements);
    }

    fputs("</svg>\n<div class=\"legend\"><span><i style=\"background:"
          "#d62728\"></i>mean CPU around the event</span><span><i "
          "style=\"background:#555\"></i>the group's mean CPU</span></div>\n"
          "</figure>\n", f);

#undef MCPU_REPORT_X
#undef MCPU_REPORT_Y
}


/* one client around one occurrence of the top suspect: its CPU and events */
static void
mcpu_report_html_timeline(FILE *f, const mcpu_report_t *r)
{
    int                           W = 960, H = 300, first, k, ntypes;
    char                          at[40];
    double                        pw, ph, lane, x, y, t, span;
    size_t                        i;
    const char                   *types[MCPU_REPORT_TYPES_MAX], *colour;
    const mcpu_report_moment_t   *m;
    const mcpu_report_suspect_t  *s;

    if (r->ntimeline == 0) {
        return;
    }

    s = r->ranked[0];
    pw = W - MCPU_REPORT_CHART_LEFT - MCPU_REPORT_CHART_RIGHT;
    lane = 34;                     /* the events' lane under the CPU */
    ph = H - MCPU_REPORT_CHART_TOP - MCPU_REPORT_CHART_BOTTOM - lane;
    span = MCPU_REPORT_TIMELINE_BEFORE_MS + MCPU_REPORT_TIMELINE_AFTER_MS;

#define MCPU_REPORT_X(ms)                                                    \
    (MCPU_REPORT_CHART_LEFT                                                  \
     + ((double) ((ms) - s->ex_ms) + MCPU_REPORT_TIMELINE_BEFORE_MS) * pw    \
       / span)
#define MCPU_REPORT_Y(v)                                                     \
    (MCPU_REPORT_CHART_TOP + ph - (v) / 100.0 * ph)

    mcpu_report_time_text(s->ex_ms, at, sizeof(at));

    fputs("<figure class=\"timeline\">\n<figcaption>One example: client <b>",
          f);
    mcpu_report_html_text(f, s->ex_client);
    fputs("</b>, its CPU and events around one occurrence of ", f);
    mcpu_report_html_text(f, s->type);
    fprintf(f, " at %s followed by a fast rise</figcaption>\n", at);

    fprintf(f, "<svg class=\"chart timeline-chart\" "
            "xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
            "width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"One "
            "client's CPU and events\">\n", W, H, W, H);

    for (t = 0; t <= 100; t += 25) {
        y = MCPU_REPORT_Y(t);
        fprintf(f, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" "
                "y2=\"%.1f\"/>\n<text x=\"%d\" y=\"%.1f\" "
                "text-anchor=\"end\">%g%%</text>\n", MCPU_REPORT_CHART_LEFT,
                y, MCPU_REPORT_CHART_LEFT + pw, y,
                MCPU_REPORT_CHART_LEFT - 6, y + 4, t);
    }

    for (t = -MCPU_REPORT_TIMELINE_BEFORE_MS;
         t <= MCPU_REPORT_TIMELINE_AFTER_MS; t += 30000)
    {
        x = MCPU_REPORT_CHART_LEFT
            + (t + MCPU_REPORT_TIMELINE_BEFORE_MS) * pw / span;
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
                "%+.0f s</text>\n", x, (double) H - MCPU_REPORT_CHART_BOTTOM
                + 16, t / 1000);
    }

    fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" "
            "class=\"muted\">seconds from the event</text>\n",
            MCPU_REPORT_CHART_LEFT + pw / 2, H - 4);

    /* the events: a mark per event in the lane, coloured by type; the
     * suspect's type in red across the whole height */
    ntypes = 0;

    for (i = 0; i < r->ntimeline; i++) {
        m = &r->timeline[i];
        if (strcmp(m->type, "CpuMeasurement") == 0) {
            continue;
        }

        x = MCPU_REPORT_X(m->time_ms);

        if (strcmp(m->type, s->type) == 0) {
            colour = MCPU_REPORT_HTML_SUSPECT_COLOUR;
            fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" "
                    "stroke=\"%s\" stroke-width=\"%s\" "
                    "stroke-dasharray=\"4 3\"/>\n", x, MCPU_REPORT_CHART_TOP,
                    x, MCPU_REPORT_CHART_TOP + ph + lane, colour,
                    m->time_ms == s->ex_ms ? "2.5" : "1.2");

        } else {
            for (k = 0; k < ntypes; k++) {
                if (strcmp(types[k], m->type) == 0) {
                    break;
                }
            }

            if (k == ntypes && ntypes < MCPU_REPORT_TYPES_MAX) {
                types[ntypes++] = m->type;
            }

            colour = mcpu_report_html_palette[k < MCPU_REPORT_TYPES_MAX
                                              ? k : MCPU_REPORT_TYPES_MAX - 1];
        }

        fprintf(f, "<path class=\"event-mark\" d=\"M%.1f %.1f l-5 12 h10 z\" "
                "fill=\"%s\"><title>", x,
                MCPU_REPORT_CHART_TOP + ph + 10, colour);
        mcpu_report_html_text(f, m->type);
        fprintf(f, " at %+.1f s</title></path>\n",
                (m->time_ms - s->ex_ms) / 1000.0);
    }

    fprintf(f, "<line class=\"axis\" x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" "
            "y2=\"%.1f\"/>\n", MCPU_REPORT_CHART_LEFT,
            MCPU_REPORT_CHART_TOP + ph, MCPU_REPORT_CHART_LEFT + pw,
            MCPU_REPORT_CHART_TOP + ph);

    /* the CPU */
    fputs("<polyline class=\"cpu\" fill=\"none\" stroke=\"#1f77b4\" "
          "stroke-width=\"2\" points=\"", f);
    first = 1;
    for (i = 0; i < r->ntimeline; i++) {
        m = &r->timeline[i];
        if (strcmp(m->type, "CpuMeasurement") == 0) {
            fprintf(f, "%s%.1f,%.1f", first ? "" : " ",
                    MCPU_REPORT_X(m->time_ms),
                    MCPU_REPORT_Y(fmin(fmax(m->cpu, 0), 100)));
            first = 0;
        }
    }
    fputs("\"/>\n</svg>\n<div class=\"legend\"><span><i "
          "style=\"background:#1f77b4\"></i>CPU</span><span><i "
          "style=\"background:" MCPU_REPORT_HTML_SUSPECT_COLOUR "\"></i>", f);
    mcpu_report_html_text(f, s->type);
    fputs("</span>", f);

    for (k = 0; k < ntypes; k++) {
        fprintf(f, "<span><i style=\"background:%s\"></i>",
                mcpu_report_html_palette[k]);
        mcpu_report_html_text(f, types[k]);
        fputs("</span>", f);
    }

    fputs("</div>\n</figure>\n", f);

#undef MCPU_REPORT_X
#undef MCPU_REPORT_Y
}


static void
mcpu_report_html_drilldown(FILE *f, const mcpu_report_t *r)
{
    fprintf(f, "<section id=\"drilldown\">\n<h2>Sessions with CPU over "
            "%g%%</h2>\n<p>Sessions (app runs) whose CPU stayed over %g%% "
            "for %ld s or more, split by version, OS and OS version; at "
            "each level, the events seen in the %ld s before the CPU went "
            "over.  Open a line to see the next level.</p>\n",
            r->conf->cpu_threshold, r->conf->cpu_threshold,
            r->conf->cpu_sustain_s, r->conf->window_s);

    mcpu_report_html_node(f, r, &r->root, NULL, 1);
    fputs("</section>\n", f);
}


static void
mcpu_report_html_node(FILE *f, const mcpu_report_t *r,
    const mcpu_report_node_t *node, const mcpu_report_node_t *parent,
    int open)
{
    char         share[16], rate[16], seen[16];
    double       x;
    size_t       i, n;
    const char  *verb;

    x = parent ? (node->over ? (double) node->over / parent->over : 0)
               : (node->sessions ? (double) node->over / node->sessions : 0);

    fprintf(f, "<details class=\"node depth-%d\"%s>\n<summary><span "
            "class=\"bar\"><span style=\"width:%.1f%%\"></span></span>",
            node->depth, open ? " open" : "", 100 * x);

    if (parent == NULL) {
        fprintf(f, "<b>%s</b> of sessions had CPU over %g%% for %ld s or "
                "more <span class=\"muted\">(%" PRIu64 " of %" PRIu64 ")"
                "</span>", mcpu_report_pct(x, share, sizeof(share)),
                r->conf->cpu_threshold, r->conf->cpu_sustain_s, node->over,
                node->sessions);

    } else {
        verb = node->depth == 1 ? "run version"
               : node->depth == 2 ? "on" : "on version";
        fprintf(f, "of those, <b>%s</b> %s <b>",
                mcpu_report_pct(x, share, sizeof(share)), verb);
        mcpu_report_html_value(f, node->label);
        fprintf(f, "</b> <span class=\"muted\">(%" PRIu64 " sessions; %s "
                "of its %" PRIu64 " sessions went over)</span>", node->over,
                mcpu_report_pct(node->sessions
                                     ? (double) node->over / node->sessions
                                     : 0, rate, sizeof(rate)),
                node->sessions);
    }

    fputs("</summary>\n", f);

    if (node->nseen > 0 && node->over > 0) {
        fprintf(f, "<div class=\"seen\">In the %ld s before the CPU went "
                "over: ", r->conf->window_s);
        n = node->nseen < 5 ? node->nseen : 5;
        for (i = 0; i < n; i++) {
            fputs(i ? " &middot; " : "", f);
            mcpu_report_html_text(f, node->seen[i].type);
            fprintf(f, " <b>%s</b>", mcpu_report_pct(
                        (double) node->seen[i].sessions / node->over, seen,
                        sizeof(seen)));
        }
        fputs(" <span class=\"muted\">of these sessions</span></div>\n", f);

    } else if (node->over > 0) {
        fprintf(f, "<div class=\"seen muted\">No event in the %ld s before "
                "the CPU went over.</div>\n", r->conf->window_s);
    }

    if (node->depth < 3) {
        for (i = 0; i < node->nchildren; i++) {
            if (node->children[i].over > 0) {
                mcpu_report_html_node(f, r, &node->children[i], node,
                                      open && i == 0);
            }
        }
    }

    fputs("</details>\n", f);
}


static void
mcpu_report_html_method(FILE *f, const mcpu_report_t *r)
{
    char                       from[40], to[40];
    const mcpu_report_conf_t  *conf = r->conf;

    if (conf->from) {
        mcpu_report_time_text(conf->from_ms, from, sizeof(from));
    } else {
        snprintf(from, sizeof(from), "the first event");
    }

    if (conf->to) {
        mcpu_report_time_text(conf->to_ms, to, sizeof(to));
    } else {
        snprintf(to, sizeof(to), "the last event");
    }

    fprintf(f, "<section id=\"method\">\n<h2>How this is computed</h2>\n<dl>\n"
            "<dt>Period</dt><dd>from %s to %s (event time)</dd>\n"
            "<dt>Fast rise</dt><dd>a CPU measurement at least %g points above "
            "the previous one of the same session, at most %ld s after it "
            "(<code>--rise</code>, <code>--rise-span</code>)</dd>\n"
            "<dt>Followed by a rise</dt><dd>a fast rise of the same client "
            "within %ld s after the event (<code>--window</code>)</dd>\n"
            "<dt>Usual rate</dt><dd>the share of the group's CPU "
            "measurements followed by a fast rise within %ld s</dd>\n"
            "<dt>Lift</dt><dd>followed by a rise &divide; usual rate; the "
            "conservative lift divides the lower Wilson bound of the first "
            "by the upper bound of the second, at z = %g (<code>--z</code>) "
            "adjusted for the %zu comparisons made: z = %.2f</dd>\n"
            "<dt>Support</dt><dd>a suspect needs %ld occurrences from %ld "
            "clients, %ld of them followed by a rise (<code>--min-support"
            "</code>, <code>--min-clients</code>, <code>--min-followed</code>)"
            "; a group is not listed when a coarser or finer one of the same "
            "event scores higher</dd>\n"
            "<dt>Over the threshold</dt><dd>CPU over %g%% for %ld s or more "
            "(<code>--cpu-threshold</code>, <code>--cpu-sustain</code>)</dd>\n"
            "<dt>Duplicates</dt><dd>every query reads each event once "
            "(<code>FINAL</code>)</dd>\n"
            "</dl>\n</section>\n", from, to, conf->rise, conf->rise_span_s,
            conf->window_s, conf->window_s, conf->z, r->eligible, r->z,
            conf->min_support, conf->min_clients, conf->min_followed,
            conf->cpu_threshold, conf->cpu_sustain_s);
}


/* the suspect as the top box shows it, each part in its own element */
static void
mcpu_report_html_suspect_name(FILE *f, const mcpu_report_suspect_t *s)
{
    const mcpu_report_group_t  *g = &s->group;

    fputs("<span class=\"event\">", f);
    mcpu_report_html_text(f, s->type);
    fputs("</span> on ", f);

    if (g->level == 0) {
        fputs("<span class=\"group\">all clients</span>", f);
        return;
    }

    fputs("<span class=\"group\">", f);

    if (g->level & MCPU_REPORT_BY_VERSION) {
        fputs("version <span class=\"version\">", f);
        mcpu_report_html_value(f, g->version);
        fputs("</span>", f);
    } else {
        fputs("all versions", f);
    }

    if (g->level & MCPU_REPORT_BY_OS) {
        fputs(" / <span class=\"os\">", f);
        mcpu_report_html_value(f, g->os);
        fputs("</span>", f);
    } else {
        fputs(" / all OSes", f);
    }

    if (g->level & MCPU_REPORT_BY_OS_VERSION) {
        fputs(" <span class=\"os-version\">", f);
        mcpu_report_html_value(f, g->os_version);
        fputs("</span>", f);
    } else if (g->level & MCPU_REPORT_BY_OS) {
        fputs(" <span class=\"muted\">(every OS version)</span>", f);
    }

    fputs("</span>", f);
}


static void
mcpu_report_html_text(FILE *f, const char *s)
{
    for ( ; *s != '\0'; s++) {
        switch (*s) {
        case '&':  fputs("&amp;", f); break;
        case '<':  fputs("&lt;", f); break;
        case '>':  fputs("&gt;", f); break;
        case '"':  fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:   fputc(*s, f); break;
        }
    }
}


/* a value from the data; an empty one is shown as "(unknown)" */
static void
mcpu_report_html_value(FILE *f, const char *s)
{
    mcpu_report_html_text(f, s[0] ? s : "(unknown)");
}


/* the smallest of 1, 2, 5 times a power of ten that is at least v */
static double
mcpu_report_html_nice(double v)
{
    double  p;

    if (!(v > 0) || !isfinite(v)) {
        return 1;
    }

    p = pow(10, floor(log10(v)));

    if (v <= p) {
        return p;
    }
    if (v <= 2 * p) {
        return 2 * p;
    }
    if (v <= 5 * p) {
        return 5 * p;
    }
    return 10 * p;
}
