package text

// VADER's modifier constants. Source: Hutto & Gilbert 2014, "VADER: A
// Parsimonious Rule-based Model for Sentiment Analysis of Social Media
// Text" (ICWSM-14), as coded in src/vaderSentiment.js of the npm package
// vader-sentiment 1.1.3, the JavaScript port of vaderSentiment (B_INCR,
// B_DECR, N_SCALAR).
const (
	// VADERBoosterIncr is the valence added by a booster word ("very").
	VADERBoosterIncr = 0.293
	// VADERBoosterDecr is the valence added by a dampener word ("slightly").
	VADERBoosterDecr = -0.293
	// VADERNegationScalar multiplies the valence of a word that follows a
	// negation within three words.
	VADERNegationScalar = -0.74
)

// vaderWindow is how many preceding words VADER inspects for boosters and
// negations, and vaderDecay the factor applied to a booster's scalar at
// distance 1, 2 and 3 (sentiment_valence in vader-sentiment 1.1.3: 0.95 for the
// second word back, 0.9 for the third).
const vaderWindow = 3

var vaderDecay = [vaderWindow]float64{1, 0.95, 0.9}

// vaderNegations are VADER's negation words (NEGATE in vader-sentiment
// 1.1.3). Contractions ending in "n't" are
// recognised by rule (see isNegatedContraction), as VADER's negated() does.
var vaderNegations = []string{
	"aint", "arent", "cannot", "cant", "couldnt", "darent", "didnt", "doesnt",
	"ain't", "aren't", "can't", "couldn't", "daren't", "didn't", "doesn't",
	"dont", "hadnt", "hasnt", "havent", "isnt", "mightnt", "mustnt", "neither",
	"don't", "hadn't", "hasn't", "haven't", "isn't", "mightn't", "mustn't",
	"neednt", "needn't", "never", "none", "nope", "nor", "not", "nothing",
	"nowhere", "oughtnt", "shant", "shouldnt", "uhuh", "wasnt", "werent",
	"oughtn't", "shan't", "shouldn't", "uh-uh", "wasn't", "weren't", "without",
	"wont", "wouldnt", "won't", "wouldn't", "rarely", "seldom", "despite",
}

// vaderBoosters are VADER's booster and dampener words and phrases
// (BOOSTER_DICT in vader-sentiment 1.1.3).
var vaderBoosters = Lexicon{
	{Phrase: "absolutely", Valence: VADERBoosterIncr},
	{Phrase: "amazingly", Valence: VADERBoosterIncr},
	{Phrase: "awfully", Valence: VADERBoosterIncr},
	{Phrase: "completely", Valence: VADERBoosterIncr},
	{Phrase: "considerably", Valence: VADERBoosterIncr},
	{Phrase: "decidedly", Valence: VADERBoosterIncr},
	{Phrase: "deeply", Valence: VADERBoosterIncr},
	{Phrase: "effing", Valence: VADERBoosterIncr},
	{Phrase: "enormously", Valence: VADERBoosterIncr},
	{Phrase: "entirely", Valence: VADERBoosterIncr},
	{Phrase: "especially", Valence: VADERBoosterIncr},
	{Phrase: "exceptionally", Valence: VADERBoosterIncr},
	{Phrase: "extremely", Valence: VADERBoosterIncr},
	{Phrase: "fabulously", Valence: VADERBoosterIncr},
	{Phrase: "flipping", Valence: VADERBoosterIncr},
	{Phrase: "flippin", Valence: VADERBoosterIncr},
	{Phrase: "fricking", Valence: VADERBoosterIncr},
	{Phrase: "frickin", Valence: VADERBoosterIncr},
	{Phrase: "frigging", Valence: VADERBoosterIncr},
	{Phrase: "friggin", Valence: VADERBoosterIncr},
	{Phrase: "fully", Valence: VADERBoosterIncr},
	{Phrase: "fucking", Valence: VADERBoosterIncr},
	{Phrase: "greatly", Valence: VADERBoosterIncr},
	{Phrase: "hella", Valence: VADERBoosterIncr},
	{Phrase: "highly", Valence: VADERBoosterIncr},
	{Phrase: "hugely", Valence: VADERBoosterIncr},
	{Phrase: "incredibly", Valence: VADERBoosterIncr},
	{Phrase: "intensely", Valence: VADERBoosterIncr},
	{Phrase: "majorly", Valence: VADERBoosterIncr},
	{Phrase: "more", Valence: VADERBoosterIncr},
	{Phrase: "most", Valence: VADERBoosterIncr},
	{Phrase: "particularly", Valence: VADERBoosterIncr},
	{Phrase: "purely", Valence: VADERBoosterIncr},
	{Phrase: "quite", Valence: VADERBoosterIncr},
	{Phrase: "really", Valence: VADERBoosterIncr},
	{Phrase: "remarkably", Valence: VADERBoosterIncr},
	{Phrase: "so", Valence: VADERBoosterIncr},
	{Phrase: "substantially", Valence: VADERBoosterIncr},
	{Phrase: "thoroughly", Valence: VADERBoosterIncr},
	{Phrase: "totally", Valence: VADERBoosterIncr},
	{Phrase: "tremendously", Valence: VADERBoosterIncr},
	{Phrase: "uber", Valence: VADERBoosterIncr},
	{Phrase: "unbelievably", Valence: VADERBoosterIncr},
	{Phrase: "unusually", Valence: VADERBoosterIncr},
	{Phrase: "utterly", Valence: VADERBoosterIncr},
	{Phrase: "very", Valence: VADERBoosterIncr},
	{Phrase: "almost", Valence: VADERBoosterDecr},
	{Phrase: "barely", Valence: VADERBoosterDecr},
	{Phrase: "hardly", Valence: VADERBoosterDecr},
	{Phrase: "just enough", Valence: VADERBoosterDecr},
	{Phrase: "kind of", Valence: VADERBoosterDecr},
	{Phrase: "kinda", Valence: VADERBoosterDecr},
	{Phrase: "kindof", Valence: VADERBoosterDecr},
	{Phrase: "kind-of", Valence: VADERBoosterDecr},
	{Phrase: "less", Valence: VADERBoosterDecr},
	{Phrase: "little", Valence: VADERBoosterDecr},
	{Phrase: "marginally", Valence: VADERBoosterDecr},
	{Phrase: "occasionally", Valence: VADERBoosterDecr},
	{Phrase: "partly", Valence: VADERBoosterDecr},
	{Phrase: "scarcely", Valence: VADERBoosterDecr},
	{Phrase: "slightly", Valence: VADERBoosterDecr},
	{Phrase: "somewhat", Valence: VADERBoosterDecr},
	{Phrase: "sort of", Valence: VADERBoosterDecr},
	{Phrase: "sorta", Valence: VADERBoosterDecr},
	{Phrase: "sortof", Valence: VADERBoosterDecr},
	{Phrase: "sort-of", Valence: VADERBoosterDecr},
}
