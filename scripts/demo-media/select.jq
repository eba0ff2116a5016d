# Picks candidate sentences from the UCI "Sentiment Labelled Sentences" (CC BY 4.0) as shipped in
# the npm package sentiment@5.0.2 (test/fixtures/{amazon,imdb,yelp}.json, {"text","class"}).
# Inputs (--slurpfile): $afinn (languages/en/labels.json of the same package: AFINN-165 scores),
#                       $src ([[source, rows], ...]).
# Output: one TSV line per candidate: source, index, class (UCI: 1 positive, 0 negative),
# afinn_score, n_words, text.
# A candidate: plain ASCII letters and . , ! ' only, ends with . or !, 6..12 words, at most 70
# characters, and an AFINN score whose sign agrees with the UCI label with |score| >= 2 (so the
# sentence carries its sentiment in its words, not only in its context).
def clean: gsub("^\\s+|\\s+$"; "");
def words: ascii_downcase | gsub("[^a-z' ]"; " ") | [splits(" +")] | map(select(length > 0));
$src[0][] as [$name, $rows]
| $rows | to_entries[]
| .key as $i | .value
| (.text | clean) as $t
| select($t | test("^[A-Z][A-Za-z ,.!']*[.!]$"))
| select($t | test("\\bi\\.e|\\.\\.|  ") | not)
| select(($t | length) <= 70)
| ($t | words) as $w
| select(($w | length) >= 6 and ($w | length) <= 12)
| ([$w[] | $afinn[0][.] // 0] | add) as $s
| select((.class == 1 and $s >= 2) or (.class == 0 and $s <= -2))
| [$name, $i, .class, $s, ($w | length), $t] | @tsv
