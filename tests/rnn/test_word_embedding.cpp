// Skip-gram with negative sampling (pipeline/embedding.hpp) on a corpus generated from a grammar
// whose word classes and male/female relation are known: nearest neighbours fall in the word's
// class and analogies (king − man + woman) are answered; plus reproducibility, the model file
// and its validation, the word2vec export, tokenisation and the queries' errors.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <unistd.h>

#include "backprop/io/safetensors.hpp"
#include "backprop/pipeline/embedding.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/util/rng.hpp"

namespace {

namespace fs = std::filesystem;
namespace pl = bp::pipeline;

// The grammar. Eight male/female noun pairs; each pair has its own "role" (three verbs and three
// objects that only its two nouns use); the gender shows in the pronouns and possessives
// around the noun. Adjectives go with any noun.
//   A: the ADJ NOUN VERB POSS OBJ          ("the old king rules his castle")
//   B: PRON is a ADJ NOUN who VERB the OBJ  ("she is a kind queen who rules the castle")
// So a noun's contexts are: its role's words + its gender's words + words shared by all; the
// analogy male_p − male_q + female_q = female_p holds in the contexts exactly.
struct Grammar {
  std::vector<std::pair<std::string, std::string>> pairs{{"king", "queen"},   {"man", "woman"},    {"prince", "princess"},
                                                         {"boy", "girl"},     {"father", "mother"}, {"son", "daughter"},
                                                         {"uncle", "aunt"},   {"monk", "nun"}};
  std::vector<std::string> adjectives{"old", "young", "tall", "kind", "brave", "quiet"};
  std::map<std::string, std::string> class_of;
  std::string verb(size_t p, int k) const { return "verb" + std::to_string(p) + char('a' + k); }
  std::string object(size_t p, int k) const { return "object" + std::to_string(p) + char('a' + k); }
  Grammar() {
    for (size_t p = 0; p < pairs.size(); ++p) {
      class_of[pairs[p].first] = class_of[pairs[p].second] = "noun";
      for (int k = 0; k < 3; ++k) class_of[verb(p, k)] = "verb", class_of[object(p, k)] = "object";
    }
    for (const auto& a : adjectives) class_of[a] = "adjective";
    for (const char* w : {"he", "his", "she", "her"}) class_of[w] = "pronoun";
  }
  std::string corpus(int sentences, uint64_t seed) const {
    bp::Rng rng(seed);
    std::ostringstream out;
    for (int i = 0; i < sentences; ++i) {
      const size_t p = rng.below(pairs.size());
      const bool female = rng.below(2) == 1;
      const std::string& noun = female ? pairs[p].second : pairs[p].first;
      const std::string& adj = adjectives[rng.below(adjectives.size())];
      const std::string v = verb(p, static_cast<int>(rng.below(3))), o = object(p, static_cast<int>(rng.below(3)));
      if (rng.below(2) == 0)
        out << "the " << adj << ' ' << noun << ' ' << v << (female ? " her " : " his ") << o << '\n';
      else
        out << (female ? "she" : "he") << " is a " << adj << ' ' << noun << " who " << v << " the " << o << '\n';
    }
    return out.str();
  }
};

fs::path temp_path(const std::string& name) {
  return fs::temp_directory_path() / ("embed_" + std::to_string(getpid()) + "_" + name);
}

void write_text(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

pl::EmbedOptions small_options(const fs::path& text, const fs::path& out) {
  pl::EmbedOptions o;
  o.text = text.string();
  o.output = out.string();
  o.dim = 30;
  o.window = 5;
  o.negative = 5;
  o.min_count = 1;
  o.subsample = 1e-3;
  o.epochs = 5;
  o.seed = 3;
  o.threads = 1;
  return o;
}

// The rates the grammar test asserts: nearest neighbours in the word's class, analogies right.
struct Rates {
  int same = 0, total = 0, right = 0, asked = 0;
};
Rates rates(const Grammar& g, const pl::WordVectors& wv) {
  Rates r;
  for (const auto& [word, cls] : g.class_of) {
    const auto nn = pl::nearest_words(wv, word, 1);
    const auto it = g.class_of.find(nn.at(0).word);
    r.same += it != g.class_of.end() && it->second == cls;
    ++r.total;
  }
  for (size_t p = 0; p < g.pairs.size(); ++p)
    for (size_t q = 0; q < g.pairs.size(); ++q) {
      if (p == q) continue;
      // male_p − male_q + female_q = female_p, and the other way round.
      r.right += pl::analogy(wv, g.pairs[p].first, g.pairs[q].first, g.pairs[q].second, 1)[0].word == g.pairs[p].second;
      r.right += pl::analogy(wv, g.pairs[p].second, g.pairs[q].second, g.pairs[q].first, 1)[0].word == g.pairs[p].first;
      r.asked += 2;
    }
  return r;
}

// Learning that can fail: trained on 20,000 generated sentences, the nearest neighbour of
// most words is in the word's class and most of the 112 analogies are answered exactly; the
// same rates of the barely trained vectors (one epoch at a learning rate of 1e-6) are far
// below the thresholds, so the thresholds measure the training.
TEST(WordEmbedding, LearnsTheGrammarsClassesAndAnalogies) {
  const Grammar g;
  const fs::path text = temp_path("grammar.txt"), model = temp_path("grammar.safetensors");
  write_text(text, g.corpus(20000, 11));
  auto o = small_options(text, model);
  o.epochs = 1, o.lr = 1e-6;
  pl::train_embedding(o);
  const Rates control = rates(g, pl::load_word_vectors(model));
  const auto start = std::chrono::steady_clock::now();
  const pl::EmbedResult r = pl::train_embedding(small_options(text, model));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const pl::WordVectors wv = pl::load_word_vectors(model);
  fs::remove(text), fs::remove(model);
  EXPECT_EQ(r.vocabulary, static_cast<int64_t>(g.class_of.size()) + 4);  // + the, is, a, who
  EXPECT_EQ(static_cast<int64_t>(wv.words.size()), r.vocabulary);
  const Rates got = rates(g, wv);
  std::printf("[ skip-gram grammar ] %lld tokens, %.1fs: nearest neighbour in the same class %d/%d, analogies %d/%d "
              "(untrained: %d/%d, %d/%d)\n",
              static_cast<long long>(r.train_words), secs, got.same, got.total, got.right, got.asked, control.same,
              control.total, control.right, control.asked);
  EXPECT_GE(got.same, got.total * 9 / 10);
  EXPECT_GE(got.right, got.asked * 8 / 10);
  EXPECT_LT(control.same, control.total * 9 / 10);
  EXPECT_LT(control.right, control.asked * 8 / 10);
  const auto king = pl::analogy(wv, "king", "man", "woman", 1);
  EXPECT_EQ(king[0].word, "queen");
}

// The update against finite differences: one sgns_step of size alpha moves every vector by
// −alpha times the gradient of L = −log σ(in·out0) − Σ log σ(−in·outk), the gradient taken by
// central differences of L in double precision; and it returns L. Dot products span ±3, inside
// the table (its σ is within 4e-4: the tolerance).
TEST(WordEmbedding, SgnsStepIsAGradientStep) {
  const int64_t D = 6;
  const int n = 4;  // the centre and three noise words
  bp::Rng rng(9);
  std::vector<std::vector<float>> v(n + 1, std::vector<float>(D));  // v[0]: in; v[1 + k]: out[k]
  for (auto& row : v)
    for (auto& x : row) x = static_cast<float>(rng.uniform(-0.7, 0.7));
  auto loss = [&](const std::vector<std::vector<double>>& w) {
    double L = 0;
    for (int k = 0; k < n; ++k) {
      double f = 0;
      for (int64_t d = 0; d < D; ++d) f += w[0][d] * w[1 + k][d];
      L += std::log1p(std::exp(k == 0 ? -f : f));  // −log σ(f) for the centre, −log σ(−f) for noise
    }
    return L;
  };
  std::vector<std::vector<double>> w(n + 1, std::vector<double>(D));
  for (int r = 0; r <= n; ++r)
    for (int64_t d = 0; d < D; ++d) w[r][d] = v[r][d];
  const double L0 = loss(w);
  std::vector<std::vector<double>> grad(n + 1, std::vector<double>(D));
  const double h = 1e-5;
  for (int r = 0; r <= n; ++r)
    for (int64_t d = 0; d < D; ++d) {
      auto p = w, m = w;
      p[r][d] += h, m[r][d] -= h;
      grad[r][d] = (loss(p) - loss(m)) / (2 * h);
    }
  const float alpha = 0.01f;
  std::vector<float*> out;
  for (int k = 0; k < n; ++k) out.push_back(v[1 + k].data());
  std::vector<float> scratch(D);
  const double L = pl::sgns_step(v[0].data(), out.data(), n, D, alpha, scratch.data());
  EXPECT_NEAR(L, L0, 2e-3);
  double worst = 0;
  for (int r = 0; r <= n; ++r)
    for (int64_t d = 0; d < D; ++d) {
      const double moved = (static_cast<double>(v[r][d]) - w[r][d]) / alpha, expected = -grad[r][d];
      worst = std::max(worst, std::fabs(moved - expected));
      EXPECT_NEAR(moved, expected, 4e-4 * 0.7 * n + 1e-4) << "vector " << r << " element " << d;
    }
  std::printf("[ sgns step ] largest difference from -alpha * gradient: %.2e alpha\n", worst);
}

// One thread and a fixed seed: the same vectors bit for bit; another seed: other vectors.
TEST(WordEmbedding, DeterministicAtOneThread) {
  const Grammar g;
  const fs::path text = temp_path("det.txt"), m1 = temp_path("det1.safetensors"), m2 = temp_path("det2.safetensors"),
                 m3 = temp_path("det3.safetensors");
  write_text(text, g.corpus(2000, 5));
  auto o = small_options(text, m1);
  o.epochs = 2;
  pl::train_embedding(o);
  o.output = m2.string();
  pl::train_embedding(o);
  o.output = m3.string(), o.seed = 4;
  pl::train_embedding(o);
  const auto a = pl::load_word_vectors(m1), b = pl::load_word_vectors(m2), c = pl::load_word_vectors(m3);
  for (const auto& p : {text, m1, m2, m3}) fs::remove(p);
  EXPECT_EQ(a.words, b.words);
  EXPECT_EQ(a.vectors.to_vector(), b.vectors.to_vector());
  EXPECT_NE(a.vectors.to_vector(), c.vectors.to_vector());
}

TEST(WordEmbedding, Tokenisation) {
  const auto s = pl::tokenize_text("King, o'er the  \"Queen's\"!\r\n\n  -- \nHe\tsaid:  why?");
  const std::vector<std::vector<std::string>> expected{{"king", "o'er", "the", "queen's"}, {"he", "said", "why"}};
  EXPECT_EQ(s, expected);
}

// The vocabulary: min-count drops rare words; order by count, ties by byte order; counts kept.
TEST(WordEmbedding, VocabularyAndExport) {
  const fs::path text = temp_path("vocab.txt"), model = temp_path("vocab.safetensors"), w2v = temp_path("vocab.w2v");
  write_text(text, "b a c a b a\nc b a rare\n");
  auto o = small_options(text, model);
  o.min_count = 2, o.dim = 4, o.export_word2vec = w2v.string();
  pl::train_embedding(o);
  const auto wv = pl::load_word_vectors(model);
  EXPECT_EQ(wv.words, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(wv.counts, (std::vector<int64_t>{4, 3, 2}));
  EXPECT_EQ(wv.training.at("dim"), 4);
  // word2vec's text format: "V D", then a word and D numbers per line.
  std::ifstream in(w2v);
  int64_t V = 0, D = 0;
  in >> V >> D;
  EXPECT_EQ(V, 3);
  EXPECT_EQ(D, 4);
  for (int64_t i = 0; i < V; ++i) {
    std::string w;
    in >> w;
    EXPECT_EQ(w, wv.words[static_cast<size_t>(i)]);
    for (int64_t d = 0; d < D; ++d) {
      double x = 0;
      in >> x;
      EXPECT_NEAR(x, wv.vectors[i * D + d], 1e-6);
    }
  }
  EXPECT_TRUE(in.good());
  std::string rest;
  in >> rest;
  EXPECT_TRUE(rest.empty());
  EXPECT_TRUE(pl::is_embedding_file(model));
  EXPECT_FALSE(pl::is_embedding_file(w2v));
  // Unknown words name themselves.
  try {
    pl::nearest_words(wv, "rare", 3);
    ADD_FAILURE() << "no error";
  } catch (const pl::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("'rare'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(pl::analogy(wv, "a", "b", "zzz", 1), pl::UsageError);
  EXPECT_EQ(pl::nearest_words(wv, "a", 10).size(), 2u);  // all but itself
  for (const auto& p : {text, model, w2v}) fs::remove(p);
}

TEST(WordEmbedding, BadOptionsAndTexts) {
  const fs::path text = temp_path("bad.txt"), model = temp_path("bad.safetensors");
  write_text(text, "one two three\nfour\n");
  auto o = small_options(text, model);
  o.min_count = 2;  // no word twice
  EXPECT_THROW(pl::train_embedding(o), std::exception);
  o.min_count = 1;
  o.dim = 0;
  EXPECT_THROW(pl::train_embedding(o), pl::UsageError);
  o.dim = 4, o.lr = -1;
  EXPECT_THROW(pl::train_embedding(o), pl::UsageError);
  write_text(text, "lonely\nwords\nonly\n");  // no line has two words: no pair to learn from
  o.lr = 0.025;
  EXPECT_THROW(pl::train_embedding(o), std::exception);
  EXPECT_FALSE(fs::exists(model));
  fs::remove(text);
}

// Loading refuses files that are not embeddings or whose parts do not fit.
TEST(WordEmbedding, ModelFileValidation) {
  const fs::path p = temp_path("val.safetensors");
  auto write = [&](const bp::Tensor& t, const std::string& meta, const std::string& name = "vectors") {
    bp::io::write_safetensors(p, {{name, t}}, {{"backprop.format_version", "2"}, {"backprop.embedding", meta}}, true);
  };
  auto refused = [&](const std::string& what) {
    try {
      pl::load_word_vectors(p);
      ADD_FAILURE() << "accepted: " << what;
    } catch (const bp::io::ModelFileError& e) {
      std::printf("  %s -> %s\n", what.c_str(), e.what());
    }
  };
  bp::Tensor two({2, 3});
  write(two, R"({"vocabulary": ["a", "b"], "counts": [2, 1]})");
  EXPECT_NO_THROW(pl::load_word_vectors(p));
  write(two, R"({"vocabulary": ["a", "b", "c"], "counts": [2, 1, 1]})");
  refused("three words, two rows");
  write(two, R"({"vocabulary": ["a", "a"], "counts": [2, 1]})");
  refused("a repeated word");
  write(two, R"({"vocabulary": ["a", "b c"], "counts": [2, 1]})");
  refused("a word with a space");
  write(two, R"({"vocabulary": ["a", "b"], "counts": [2]})");
  refused("counts missing");
  write(two, R"({"vocabulary": ["a", "b"], "counts": [2, 1]})", "weights");
  refused("another tensor name");
  write(two, "not json");
  refused("bad JSON");
  bp::Tensor nan({2, 3});
  nan[4] = std::nanf("");
  write(nan, R"({"vocabulary": ["a", "b"], "counts": [2, 1]})");
  refused("a NaN");
  bp::io::write_safetensors(p, {{"vectors", two}},
                            {{"backprop.format_version", "99"}, {"backprop.embedding", R"({"vocabulary": ["a", "b"], "counts": [2, 1]})"}},
                            true);
  refused("a newer format version");
  bp::io::write_safetensors(p, {{"vectors", two}}, {{"backprop.format_version", "2"}}, true);
  refused("no backprop.embedding");
  EXPECT_FALSE(pl::is_embedding_file(p));
  fs::remove(p);
}

}  // namespace
