#include "util/clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t clock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The proleptic Gregorian date of a day counted from 1970-01-01 (the inverse of days_from_civil). gmtime_r would do,
 * but its first call in a process reads the time zone file (/etc/localtime) it does not need: a cost every task,
 * which formats one time per log line, would pay. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* "YYYY-MM-DDTHH:MM:SS" of the second formatted last: events come many to a second (one thread per process) */
static struct {
    time_t secs;
    int valid;
    char text[20];
} last_second;

void clock_format_rfc3339(int64_t ms, char out[CLOCK_RFC3339_LEN + 1])
{
    time_t secs = (time_t)(ms / 1000);
    int milli = (int)(ms % 1000);
    if (milli < 0) {
        milli += 1000;
        secs -= 1;
    }
    if (!last_second.valid || last_second.secs != secs) {
        int64_t days = secs / 86400, in_day = secs % 86400, year;
        if (in_day < 0) {
            in_day += 86400;
            days -= 1;
        }
        unsigned month, day;
        civil_from_days(days, &year, &month, &day);
        /* every field is bounded so that the text is exactly CLOCK_RFC3339_LEN characters */
        snprintf(last_second.text, sizeof(last_second.text), "%04u-%02u-%02uT%02u:%02u:%02u",
                 (unsigned)(year % 10000 + 10000) % 10000u, month % 100u, day % 100u, (unsigned)(in_day / 3600),
                 (unsigned)(in_day / 60 % 60), (unsigned)(in_day % 60));
        last_second.secs = secs;
        last_second.valid = 1;
    }
    memcpy(out, last_second.text, 19);
    out[19] = '.';
    out[20] = (char)('0' + milli / 100);
    out[21] = (char)('0' + milli / 10 % 10);
    out[22] = (char)('0' + milli % 10);
    out[23] = 'Z';
    out[24] = '\0';
}

/* Reads exactly `n` decimal digits at s[*pos]. */
static int read_digits(const char *s, size_t len, size_t *pos, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (*pos >= len || s[*pos] < '0' || s[*pos] > '9')
            return -1;
        v = v * 10 + (s[(*pos)++] - '0');
    }
    *out = v;
    return 0;
}

static int expect(const char *s, size_t len, size_t *pos, char c)
{
    if (*pos >= len || s[*pos] != c)
        return -1;
    (*pos)++;
    return 0;
}

int clock_parse_iso8601_prefix(const char *s, size_t len, int64_t *ms, size_t *used)
{
    size_t p = 0;
    int y, mo, d, h, mi, sec, milli = 0;
    if (read_digits(s, len, &p, 4, &y) || expect(s, len, &p, '-') || read_digits(s, len, &p, 2, &mo) ||
        expect(s, len, &p, '-') || read_digits(s, len, &p, 2, &d))
        return -1;
    if (p >= len || (s[p] != 'T' && s[p] != ' '))
        return -1;
    p++;
    if (read_digits(s, len, &p, 2, &h) || expect(s, len, &p, ':') || read_digits(s, len, &p, 2, &mi) ||
        expect(s, len, &p, ':') || read_digits(s, len, &p, 2, &sec))
        return -1;
    static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 60)
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d < 1 || d > month_days[mo - 1] + (mo == 2 && leap))
        return -1;
    if (p < len && (s[p] == '.' || s[p] == ',')) {
        p++;
        int digits = 0, scale = 100;
        while (p < len && s[p] >= '0' && s[p] <= '9') {
            if (digits < 3)
                milli += (s[p] - '0') * scale, scale /= 10;
            digits++, p++;
        }
        if (digits == 0)
            return -1;
    }
    int offset_min = 0;
    if (p < len && s[p] == 'Z') {
        p++;
    } else if (p < len && (s[p] == '+' || s[p] == '-')) {
        int sign = s[p] == '-' ? -1 : 1, oh, om;
        size_t q = p + 1;
        if (read_digits(s, len, &q, 2, &oh))
            return -1;
        if (q < len && s[q] == ':')
            q++;
        if (read_digits(s, len, &q, 2, &om) || oh > 23 || om > 59)
            return -1;
        offset_min = sign * (oh * 60 + om);
        p = q;
    }
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - (int64_t)offset_min * 60;
    *ms = secs * 1000 + milli;
    *used = p;
    return 0;
}
