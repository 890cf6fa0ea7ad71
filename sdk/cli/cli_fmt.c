/* cli_fmt.c: see cli_fmt.h. */
#include "cli_fmt.h"

#include <math.h>
#include <string.h>

#include "cli_term.h"

double cli_fmt_num(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

const char *cli_fmt_str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

void cli_fmt_count(double v, char *out, size_t cap)
{
    if (!isfinite(v)) {
        snprintf(out, cap, "-");
        return;
    }
    char raw[32];
    snprintf(raw, sizeof raw, "%.0f", v);
    size_t n = strlen(raw), o = 0;
    for (size_t i = 0; i < n && o + 2 < cap; i++) {
        if (i > 0 && (n - i) % 3 == 0 && raw[i - 1] != '-') out[o++] = ',';
        out[o++] = raw[i];
    }
    out[o] = '\0';
}

void cli_fmt_pct(double v, int sign, char *out, size_t cap)
{
    if (!isfinite(v)) snprintf(out, cap, "-");
    else if (sign) snprintf(out, cap, "%+.1f%%", v * 100);
    else snprintf(out, cap, "%.2f%%", v * 100);
}

void cli_fmt_ci(const json_t *pair, int sign, char *out, size_t cap)
{
    if (!json_is_array(pair) || json_array_size(pair) != 2) {
        snprintf(out, cap, "-");
        return;
    }
    double lo = json_number_value(json_array_get(pair, 0));
    double hi = json_number_value(json_array_get(pair, 1));
    if (sign) snprintf(out, cap, "[%+.1f, %+.1f]", lo * 100, hi * 100);
    else snprintf(out, cap, "[%.1f, %.1f]", lo * 100, hi * 100);
}

void cli_fmt_p(double p, char *out, size_t cap)
{
    if (!isfinite(p)) snprintf(out, cap, "-");
    else if (p < 0.0001) snprintf(out, cap, "<0.0001");
    else snprintf(out, cap, "%.4f", p);
}

void cli_fmt_money(double v, char *out, size_t cap)
{
    if (!isfinite(v)) snprintf(out, cap, "-");
    else snprintf(out, cap, "%.2f", v);
}

void cli_fmt_heading(FILE *f, int color, const char *text)
{
    fputc('\n', f);
    cli_term_paint(f, color, CLI_PAINT_BOLD, text);
    fputc('\n', f);
}
