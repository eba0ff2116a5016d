package text

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

// goldenDir holds the tokenizer fixtures copied from the shared test data:
// outputs of HuggingFace tokenizers 0.22.2 (BertTokenizerFast), which the
// Python BertTokenizer matches on every record (see its README.md).
const goldenDir = "../../testdata/bert-tokenizer"

// goldenRecord is one line of bert_tok_shared.jsonl.
type goldenRecord struct {
	ID            string   `json:"id"`
	Text          string   `json:"text"`
	Vocab         string   `json:"vocab"`
	DoLowerCase   bool     `json:"do_lower_case"`
	MaxLen        int      `json:"max_len"`
	InputIDs      []int64  `json:"input_ids"`
	AttentionMask []int64  `json:"attention_mask"`
	TokenTypeIDs  []int64  `json:"token_type_ids"`
	Tokens        []string `json:"tokens"`
	NumPieces     int      `json:"n_wordpieces_untruncated"`
}

func readGolden(t testing.TB) []goldenRecord {
	t.Helper()
	f, err := os.Open(filepath.Join(goldenDir, "bert_tok_shared.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []goldenRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r goldenRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("record %d: %v", len(recs)+1, err)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return recs
}

// vocabCache shares the parsed vocabularies between (parallel) tests.
var (
	vocabMu    sync.Mutex
	vocabCache = map[string]*Vocab{}
)

func loadTestVocab(t testing.TB, name string) *Vocab {
	t.Helper()
	vocabMu.Lock()
	defer vocabMu.Unlock()
	if v, ok := vocabCache[name]; ok {
		return v
	}
	v, err := LoadVocab(filepath.Join(goldenDir, name+"-vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	vocabCache[name] = v
	return v
}

func TestTokenizerGolden(t *testing.T) {
	recs := readGolden(t)
	// 492 records: the count stated in the fixture's README.md.
	if len(recs) != 492 {
		t.Fatalf("read %d golden records, want 492", len(recs))
	}
	type config struct {
		vocab  string
		lower  bool
		maxLen int
	}
	toks := map[config]*Tokenizer{}
	for _, r := range recs {
		key := config{r.Vocab, r.DoLowerCase, r.MaxLen}
		tok, ok := toks[key]
		if !ok {
			var err error
			tok, err = NewTokenizer(loadTestVocab(t, r.Vocab), Options{LowerCase: r.DoLowerCase, MaxLen: r.MaxLen})
			if err != nil {
				t.Fatal(err)
			}
			toks[key] = tok
		}
		t.Run(r.ID, func(t *testing.T) {
			got := tok.Encode(r.Text)
			// EncodeTo into an Encoding left over from another text must
			// give the same result.
			reused := tok.Encode("[MASK] " + strings.Repeat("leftover words ", 30))
			tok.EncodeTo(&reused, r.Text)
			if !reflect.DeepEqual(reused, got) {
				t.Errorf("EncodeTo into a used Encoding gave %+v, Encode %+v", reused, got)
			}
			if !slices.Equal(got.InputIDs, r.InputIDs) {
				t.Errorf("input_ids\n got %v\nwant %v", got.InputIDs, r.InputIDs)
			}
			if !slices.Equal(got.Tokens, r.Tokens) {
				t.Errorf("tokens\n got %q\nwant %q", got.Tokens, r.Tokens)
			}
			if !slices.Equal(got.AttentionMask, r.AttentionMask) {
				t.Errorf("attention_mask\n got %v\nwant %v", got.AttentionMask, r.AttentionMask)
			}
			if !slices.Equal(got.TokenTypeIDs, r.TokenTypeIDs) {
				t.Errorf("token_type_ids\n got %v\nwant %v", got.TokenTypeIDs, r.TokenTypeIDs)
			}
			if got.NumWordPieces != r.NumPieces {
				t.Errorf("word pieces before truncation: got %d, want %d", got.NumWordPieces, r.NumPieces)
			}
		})
	}
}

func TestNewTokenizer(t *testing.T) {
	t.Parallel()
	v := loadTestVocab(t, "bert-base-uncased")
	cases := []struct {
		name    string
		vocab   *Vocab
		opts    Options
		maxLen  int
		last    string // last token of Encode("good")
		wantErr string
	}{
		{"zero options", v, Options{}, DefaultMaxLen, TokenPad, ""},
		{"minimum length truncates everything", v, Options{MaxLen: 2}, 2, TokenSEP, ""},
		{"too short", v, Options{MaxLen: 1}, 0, "", "MaxLen 1 is below 2"},
		{"negative", v, Options{MaxLen: -3}, 0, "", "MaxLen -3 is below 2"},
		{"nil vocabulary", nil, Options{}, 0, "", "nil vocabulary"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tok, err := NewTokenizer(c.vocab, c.opts)
			if expectError(t, err, c.wantErr) {
				return
			}
			if tok.MaxLen() != c.maxLen || tok.Vocab() != c.vocab {
				t.Errorf("MaxLen %d, want %d", tok.MaxLen(), c.maxLen)
			}
			enc := tok.Encode("good")
			if len(enc.InputIDs) != c.maxLen || enc.Tokens[0] != TokenCLS || enc.Tokens[c.maxLen-1] != c.last {
				t.Errorf("Encode(\"good\") = %q, want %d tokens from [CLS] to %s", enc.Tokens, c.maxLen, c.last)
			}
		})
	}
}

func TestEncodeWordIDs(t *testing.T) {
	t.Parallel()
	tok, err := NewTokenizer(loadTestVocab(t, "bert-base-uncased"), Options{LowerCase: true, MaxLen: 8})
	if err != nil {
		t.Fatal(err)
	}
	// Pieces from bert_tok_shared.jsonl: "converter" is "convert" "##er"
	// (uci_amazon_000) and a literal [MASK] stays one token
	// (tricky_special_only).
	cases := []struct {
		name, text string
		tokens     []string
		want       []int
	}{
		{"pieces share a word", "a converter.", []string{"[CLS]", "a", "convert", "##er", ".", "[SEP]", "[PAD]", "[PAD]"}, []int{-1, 0, 1, 1, 2, -1, -1, -1}},
		{"literal special token is a word", "a[MASK]converter", []string{"[CLS]", "a", "[MASK]", "convert", "##er", "[SEP]", "[PAD]", "[PAD]"}, []int{-1, 0, 1, 2, 2, -1, -1, -1}},
		{"truncated", "a a a a a a a a", []string{"[CLS]", "a", "a", "a", "a", "a", "a", "[SEP]"}, []int{-1, 0, 1, 2, 3, 4, 5, -1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			enc := tok.Encode(c.text)
			if !slices.Equal(enc.Tokens, c.tokens) || !slices.Equal(enc.WordIDs, c.want) {
				t.Errorf("tokens %q word ids %v, want %q %v", enc.Tokens, enc.WordIDs, c.tokens, c.want)
			}
		})
	}
}

// expectError reports whether a case expects an error (want != ""). If so
// it fails the test unless err is a package error containing want;
// otherwise it fails the test on any error.
func expectError(t *testing.T, err error, want string) bool {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatal(err)
		}
		return false
	}
	if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "text: ") {
		t.Fatalf("got error %v, want one containing %q", err, want)
	}
	return true
}
