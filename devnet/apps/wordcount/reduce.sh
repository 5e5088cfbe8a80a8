#!/bin/sh
# The reduce step of the wordcount demo, run by the requester on the verified results:
#   sh devnet/apps/wordcount/reduce.sh <folder with one sub-folder per task result>
# Adds up every task's counts.txt and prints the total per word, most frequent first.
set -eu
folder=${1:?usage: reduce.sh <results folder>}
find "$folder" -name counts.txt -exec cat {} + |
  awk '{ total[$1] += $2 } END { for (word in total) print total[word], word }' |
  LC_ALL=C sort -k1,1nr -k2,2
