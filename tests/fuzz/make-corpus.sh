#!/bin/sh
# Regenerate the seed corpus of fuzz-request (tests/fuzz/corpus/request).
#
# Each file: one mode byte (see tests/fuzz/fuzz-request.c: low nibble picks
# the feed chunk size 1,2,3,7,64,4096,all; 0x40 a 64-byte frame cap; 0x80
# "the rest is one raw payload"), then the bytes.  msgpack is written as
# hex by the small helpers below.
set -eu
out=${1:-$(dirname "$0")/corpus/request}
mkdir -p "$out"

hex() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }
# fixstr (< 32 bytes)
s() { printf '%02x' $((0xa0 + ${#1})); hex "$1"; }
# uint: fixint below 128, else uint64
u() { if [ "$1" -lt 128 ]; then printf '%02x' "$1"; else printf 'cf%016x' "$1"; fi; }
# 4-byte big-endian length + payload
frame() { printf '%08x%s' $((${#1} / 2)) "$1"; }
# write mode byte + hex to a file
put() { printf '%s%s' "$2" "$3" | sed 's/../\\x&/g' | xargs -0 printf > "$out/$1"; }

req() { printf '83%s%s%s%s%s' "$(s id)" "$(u "$1")" "$(s op)" "$(s "$2")" "$(s args)"; }

hello="$(req 1 hello)82$(s version)01$(s client)$(s 'rmonctl 0.1.0')"
status="82$(s id)02$(s op)$(s status)"
get="$(req 3 get)81$(s selectors)92$(s system.load1)$(s 'net:*.rx_bps')"
query="$(req 4 query)84$(s selectors)91$(s cpu:0.busy_pct)$(s since)$(u 1763720000000000000)$(s step)$(u 1000000000)$(s agg)$(s max)"
schema="$(req 5 schema)c0"
cancel="$(req 6 cancel)81$(s stream)04"
ok="83$(s id)01$(s ok)c3$(s result)83$(s protocol)01$(s frame_max)ce00100000$(s ops)92$(s hello)$(s status)"
err="83$(s id)07$(s ok)c2$(s error)82$(s code)$(s not_found)$(s msg)$(s 'no such metric')"
event="83$(s id)04$(s ev)$(s series)$(s data)84$(s name)$(s cpu:0.busy_pct)$(s unit)$(s %)$(s t)91$(u 1763720000000000000)$(s v)91cb4008000000000000"
deep="$(req 7 hello)81$(s x)$(printf '91%.0s' $(seq 40))90"
types="$(req 8 get)8a$(s a)ff$(s b)d3ffffffffffffff00$(s c)ca3f800000$(s d)c40301ff02$(s e)d50501ff$(s f)c7020561ff$(s g)dc000201c0$(s h)de0001$(s k)c2$(s i)da0001$(hex z)$(s j)df00000000"

put hello-whole 06 "$(frame "$hello")"
put hello-bytewise 00 "$(frame "$hello")"
put hello-raw 80 "$hello"
put status 05 "$(frame "$status")"
put get 03 "$(frame "$get")"
put query 04 "$(frame "$query")"
put schema 06 "$(frame "$schema")"
put cancel 02 "$(frame "$cancel")"
put several-chunk7 03 "$(frame "$hello")$(frame "$status")$(frame "$get")$(frame "$query")"
put several-whole 06 "$(frame "$schema")$(frame "$cancel")$(frame "$status")"
put truncated 01 "$(frame "$get" | cut -c1-40)"
put oversized 06 "00100001$(hex xxxx)"
put oversized-small-cap 46 "$(frame "$status")$(frame "$query")"
put oversized-4g 06 "ffffffff"
put zero-length 06 "$(frame "$status")00000000"
put garbage 06 "$(frame "c1ffee00deadbeef")"
put trailing 06 "$(frame "${status}00")"
put not-a-map 06 "$(frame "93010203")"
put unknown-op 06 "$(frame "$(req 9 nosuchop)80")"
put bad-types 06 "$(frame "83$(s id)ff$(s op)01$(s args)90")$(frame "82$(s id)01$(s op)01")"
put deep-raw 80 "$deep"
put huge-count-raw 80 "$(req 10 get)81$(s x)ddffffffff"
put every-type-raw 80 "$types"
put reply-ok 06 "$(frame "$ok")"
put reply-error 06 "$(frame "$err")"
put reply-event 07 "$(frame "$event")"
put reply-raw 80 "$event"
