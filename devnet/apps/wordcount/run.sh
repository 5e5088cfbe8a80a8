#!/bin/sh
# Sunpool demo app "wordcount": the map step of a map-reduce word count.
#
# What a Sunpool app sees (docs/worker.md, "Isolation"):
#   $SUNPOOL_IN/           the dataset's file and params.json, read-only (only with a dataset)
#   $SUNPOOL_OUT/          the one folder whose files become the result (size-capped)
#   $SUNPOOL_TASK_INDEX    this task's index in its deal (0 … volume-1)
#   arguments              the request's params.args
#   /tmp                   scratch space; the rest of the filesystem is read-only, no network
#
# Arguments: [parts]. Task i of a batch of `parts` tasks counts the words of the dataset's lines
# whose number (from 0) is i modulo `parts`, so a batch of N tasks splits the dataset N ways and the
# requester adds the N counts.txt files up (the reduce step, see devnet/apps/README.md).
# The output is sorted, so every honest replica of a task writes the same bytes.
set -eu
parts=${1:-1}
index=${SUNPOOL_TASK_INDEX:-0}
case "$parts" in '' | *[!0-9]* | 0)
  echo "wordcount: the first argument must be the number of parts (a positive integer), got '$parts'" >&2
  exit 2
  ;;
esac
if [ "$index" -ge "$parts" ]; then
  echo "wordcount: task index $index is not below the number of parts $parts: pass the batch's volume as first argument" >&2
  exit 2
fi
text=""
for file in "${SUNPOOL_IN:-/nonexistent}"/*; do
  [ -f "$file" ] && [ "$(basename "$file")" != params.json ] && text=$file
done
if [ -z "$text" ]; then
  echo "wordcount: no dataset file in \$SUNPOOL_IN: run it with a dataset (sunpool run --dataset <id>)" >&2
  exit 2
fi
echo "wordcount: part $index of $parts of $(basename "$text")" >&2
awk -v parts="$parts" -v index_="$index" '
  (NR - 1) % parts == index_ {
    for (f = 1; f <= NF; f++) {
      word = tolower($f)
      gsub(/[^a-z0-9]/, "", word)
      if (word != "") count[word]++
    }
  }
  END { for (word in count) print word, count[word] }
' "$text" | LC_ALL=C sort > "$SUNPOOL_OUT/counts.txt"
echo "wordcount: $(wc -l < "$SUNPOOL_OUT/counts.txt") distinct words" >&2
