// The character language model workflow (pipeline/char_lm.hpp): it learns a repetitive text
// far below the uniform loss log(V), samples the pattern back, and refuses bad input by type.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "backprop/data/error.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/nn/rnn.hpp"
#include "backprop/pipeline/char_lm.hpp"
#include "backprop/pipeline/evaluate_saved.hpp"
#include "backprop/pipeline/predict.hpp"
#include "backprop/pipeline/errors.hpp"
#include "../test_util.hpp"

namespace {

namespace fs = std::filesystem;
using namespace bp;

class CharLm : public bp::testing::TempDirTest {
 protected:
  CharLm() : TempDirTest("backprop_char_lm") {}
  std::string write(const std::string& name, const std::string& text) {
    const std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  // A small, fast configuration on a text of `period` repeated.
  pipeline::CharLmOptions small(const std::string& text_file) {
    pipeline::CharLmOptions o;
    o.text = text_file;
    o.hidden = 32, o.embedding = 8, o.seq_len = 16, o.batch_size = 16, o.steps = 300;
    o.output = (dir_ / "lm.safetensors").string();
    return o;
  }
};

std::string repeat(const std::string& unit, size_t times) {
  std::string s;
  for (size_t i = 0; i < times; ++i) s += unit;
  return s;
}

TEST_F(CharLm, LearnsARepetitiveTextAndSamplesItBack) {
  const std::string unit = "hello world\n";  // 9 distinct characters; each is determined by the few before it
  const pipeline::CharLmOptions o = small(write("hello.txt", repeat(unit, 400)));
  const pipeline::CharLmResult r = pipeline::train_char_lm(o);
  EXPECT_EQ(r.vocabulary, 9);
  EXPECT_EQ(r.steps, 300);
  EXPECT_EQ(r.train_chars, 4320);
  EXPECT_EQ(r.validation_chars, 480);
  // Uniform guessing costs log(9) = 2.20 nats/char; the pattern leaves only a window's first characters.
  EXPECT_LT(r.validation_loss, 0.1 * std::log(9.0));

  pipeline::CharLm m = pipeline::load_char_lm(o.output);
  // evaluate and predict point to `sample` instead of failing on the missing table preprocessing.
  pipeline::EvaluateOptions eo;
  eo.model = o.output;
  EXPECT_THROW(pipeline::evaluate_saved_model(eo), pipeline::UsageError);
  pipeline::PredictOptions po;
  po.model = o.output;
  po.data.source = o.text;
  EXPECT_THROW(pipeline::predict_to_csv(po), pipeline::UsageError);
  EXPECT_EQ(std::string(m.vocabulary.begin(), m.vocabulary.end()), std::string("\n dehlorw"));
  pipeline::SampleOptions s;
  s.prime = "hello";
  s.length = 3 * static_cast<int64_t>(unit.size());
  s.seed = 11;
  const std::string text = pipeline::sample_char_lm(m, s);
  EXPECT_EQ(text, repeat(unit, 4).substr(0, text.size()));
  EXPECT_EQ(text.size(), 5 + 3 * unit.size());
}

TEST_F(CharLm, TheSameSeedSamplesTheSameTextAfterLoading) {
  pipeline::CharLmOptions o = small(write("mixed.txt", repeat("abracadabra, alakazam! ", 150)));
  o.steps = 30;  // barely trained: the draws are far from certain, so seeds differ
  pipeline::train_char_lm(o);
  pipeline::SampleOptions s;
  s.prime = "ab";
  s.length = 200;
  s.temperature = 1.0;
  s.seed = 5;
  pipeline::CharLm a = pipeline::load_char_lm(o.output), b = pipeline::load_char_lm(o.output);
  const std::string first = pipeline::sample_char_lm(a, s);
  EXPECT_EQ(first, pipeline::sample_char_lm(b, s));
  EXPECT_EQ(first, pipeline::sample_char_lm(a, s));  // sampling leaves the model as it was
  s.seed = 6;
  EXPECT_NE(first, pipeline::sample_char_lm(a, s));
}

TEST_F(CharLm, BadInputIsRefusedByType) {
  pipeline::CharLmOptions o = small(write("empty.txt", ""));
  EXPECT_THROW(pipeline::train_char_lm(o), data::DataError);
  o.text = write("short.txt", repeat("ab", 50));  // validation part: 10 characters < seq_len + 1
  EXPECT_THROW(pipeline::train_char_lm(o), data::DataError);
  o.text = (dir_ / "missing.txt").string();
  EXPECT_THROW(pipeline::train_char_lm(o), data::DataError);
  o.text = "";
  EXPECT_THROW(pipeline::train_char_lm(o), pipeline::UsageError);
  o = small(write("ok.txt", repeat("abc", 200)));
  o.steps = 5, o.minutes = 1;
  EXPECT_THROW(pipeline::train_char_lm(o), pipeline::UsageError);

  o.minutes = 0;
  pipeline::train_char_lm(o);
  pipeline::CharLm m = pipeline::load_char_lm(o.output);
  pipeline::SampleOptions s;
  s.prime = "abx";
  try {
    pipeline::sample_char_lm(m, s);
    ADD_FAILURE() << "an unknown prime character was accepted";
  } catch (const pipeline::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("'x' (at position 2) is not in the model's vocabulary of 3"), std::string::npos)
        << e.what();
  }
  s.prime = "";
  EXPECT_THROW(pipeline::sample_char_lm(m, s), pipeline::UsageError);
  s.prime = "a", s.temperature = 0;
  EXPECT_THROW(pipeline::sample_char_lm(m, s), pipeline::UsageError);
}

TEST_F(CharLm, AModelFileWhoseVocabularyDoesNotFitIsRefused) {
  pipeline::CharLmOptions o = small(write("ok.txt", repeat("abc", 200)));
  o.steps = 2;
  pipeline::train_char_lm(o);
  io::ModelFile f = io::load_model(o.output);
  const std::string bad = (dir_ / "bad.safetensors").string();
  f.info.extra["char_lm"]["vocabulary"] = {97, 98};  // 2 characters for 3 rows and outputs
  io::save_model(bad, f);
  EXPECT_THROW(pipeline::load_char_lm(bad), io::ModelFileError);
  f.info.extra["char_lm"]["vocabulary"] = {97, 99, 98};  // not ascending
  io::save_model(bad, f);
  EXPECT_THROW(pipeline::load_char_lm(bad), io::ModelFileError);
  f.info.extra = nullptr;  // no vocabulary at all
  io::save_model(bad, f);
  EXPECT_THROW(pipeline::load_char_lm(bad), io::ModelFileError);
  // A network of another shape (one linear layer) is no char-lstm model.
  Rng rng(1);
  nn::Sequential mlp;
  mlp.emplace<nn::Linear>(4, 3, true, nn::Init::Glorot, rng);
  io::save_model(bad, mlp, {});
  EXPECT_THROW(pipeline::load_char_lm(bad), io::ModelFileError);
}

}  // namespace
