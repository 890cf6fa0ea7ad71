/* bandit_plan.c: the pure rules of a bandit update (bandit_plan.h). */
#include "bandit_plan.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bandit_layout.h"
#include "hash.h"

uint32_t bandit_plan_seed(uint32_t experiment_seed, const char *region, int period)
{
    char text[128];
    int n = snprintf(text, sizeof text, "%s|%d", region, period);
    if (n < 0 || (size_t)n >= sizeof text)
        n = (int)strlen(text);
    return hash_murmur3_32(text, (size_t)n, experiment_seed);
}

int64_t bandit_plan_next(int64_t now, int every)
{
    if (every <= 0)
        return now;
    int64_t q = now / every;
    if (now < 0 && now % every)
        q--;
    return (q + 1) * every;
}

bool bandit_plan_changed(const double *prev, const double *next, int k)
{
    if (k < 2 || k > BANDIT_LAYOUT_MAX_ARMS)
        return false;
    uint32_t a[BANDIT_LAYOUT_MAX_ARMS], b[BANDIT_LAYOUT_MAX_ARMS];
    bandit_layout_targets(prev, k, a);
    bandit_layout_targets(next, k, b);
    double tv = 0;
    bool differ = false;
    for (int i = 0; i < k; i++) {
        differ |= a[i] != b[i];
        tv += fabs(next[i] - prev[i]);
    }
    return differ && tv / 2 > BANDIT_PLAN_MIN_MOVE;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int64_t bandit_plan_parse_time(const char *s)
{
    int y, mo, d, h, mi, se;
    char z;
    if (!s || strlen(s) != 20 ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &se, &z) != 7 || z != 'Z' ||
        mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 || h < 0 || mi < 0 ||
        se < 0)
        return -1;
    return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
}

void bandit_plan_format_time(int64_t t, char out[32])
{
    int64_t days = t / 86400, rem = t % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    /* civil_from_days */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    y += m <= 2;
    snprintf(out, 32, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d, (int)(rem / 3600),
             (int)(rem % 3600 / 60), (int)(rem % 60));
}

static int64_t entry_since(json_t *entry)
{
    return bandit_plan_parse_time(json_string_value(json_object_get(entry, "since")));
}

static int merge_oldest(json_t *history)
{
    json_t *a = json_array_get(history, 0), *b = json_array_get(history, 1);
    json_t *c = json_array_get(history, 2); /* bounds b's duration; may be NULL */
    json_t *wa = json_object_get(a, "weights"), *wb = json_object_get(b, "weights");
    size_t k = json_array_size(wa);
    int64_t ta = entry_since(a), tb = entry_since(b), tc = c ? entry_since(c) : -1;
    double da = ta >= 0 && tb >= ta ? (double)(tb - ta) : 1;
    double db = tb >= 0 && tc >= tb ? (double)(tc - tb) : 1;
    if (da + db <= 0)
        da = db = 1;
    json_t *w = json_array();
    if (!w)
        return -1;
    for (size_t i = 0; i < k; i++)
        json_array_append_new(w, json_real((json_number_value(json_array_get(wa, i)) * da +
                                            json_number_value(json_array_get(wb, i)) * db) /
                                           (da + db)));
    json_t *through = json_object_get(b, "through");
    json_t *m = json_pack("{s:O, s:O, s:O?, s:o, s:b}", "period", json_object_get(a, "period"),
                          "through", through ? through : json_object_get(b, "period"), "since",
                          json_object_get(a, "since"), "weights", w, "summarized", 1);
    if (!m)
        return -1;
    json_array_remove(history, 0);
    json_array_set_new(history, 0, m);
    return 0;
}

int bandit_plan_history_push(json_t *history, int period, const char *since, const double *weights,
                             int k, size_t max)
{
    json_t *w = json_array();
    for (int i = 0; w && i < k; i++)
        json_array_append_new(w, json_real(weights[i]));
    json_t *entry = w ? json_pack("{s:i, s:s, s:o}", "period", period, "since", since ? since : "",
                                  "weights", w)
                      : NULL;
    if (!entry || json_array_append_new(history, entry) != 0)
        return -1;
    while (max >= 2 && json_array_size(history) > max)
        if (merge_oldest(history) != 0)
            return -1;
    return 0;
}
