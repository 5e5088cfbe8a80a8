#!/bin/sh
# Sunpool demo app "primes": compute-bound work with a result anyone can check.
#
# Arguments: [limit]. Counts the primes below `limit` (default 200000) with a sieve, splitting the
# range across a batch the way wordcount splits its dataset: task i of N (N = second argument,
# default 1) sieves [i*limit/N, (i+1)*limit/N). Writes primes.txt: the range, the count, the largest
# prime found. No input, no network; only CPU and memory (about 8 bytes per number in the range).
set -eu
limit=${1:-200000}
parts=${2:-1}
index=${SUNPOOL_TASK_INDEX:-0}
for value in "$limit" "$parts"; do
  case "$value" in '' | *[!0-9]* | 0)
    echo "primes: arguments are [limit] [parts], positive integers; got '$value'" >&2
    exit 2
    ;;
  esac
done
if [ "$index" -ge "$parts" ]; then
  echo "primes: task index $index is not below the number of parts $parts: pass the batch's volume as second argument" >&2
  exit 2
fi
if [ "$limit" -gt 20000000 ]; then
  echo "primes: limit $limit is above 20000000 (the app's declared memory would not hold the sieve)" >&2
  exit 2
fi
echo "primes: part $index of $parts below $limit" >&2
awk -v limit="$limit" -v parts="$parts" -v index_="$index" 'BEGIN {
  from = int(index_ * limit / parts); to = int((index_ + 1) * limit / parts)
  if (from < 2) from = 2
  # Segmented sieve: mark multiples of every p <= sqrt(to) inside [from, to).
  for (p = 2; p * p < to; p++) {
    if (small[p]) continue
    for (m = p * p; m * m < to; m += p) small[m] = 1
    start = int((from + p - 1) / p) * p
    if (start < p * p) start = p * p
    for (m = start; m < to; m += p) composite[m - from] = 1
  }
  count = 0; largest = 0
  for (n = from; n < to; n++) if (!((n - from) in composite)) { count++; largest = n }
  printf "range %d %d\ncount %d\nlargest %d\n", from, to, count, largest
}' > "$SUNPOOL_OUT/primes.txt"
cat "$SUNPOOL_OUT/primes.txt" >&2
