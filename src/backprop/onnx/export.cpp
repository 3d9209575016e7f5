// A trained network as an ONNX graph: one node (or two) per module, in forward order.
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <functional>
#include <stdexcept>

#include "backprop/data/preprocess.hpp"
#include "backprop/nn/layers.hpp"
#include "backprop/onnx/onnx.hpp"
#include "backprop/util/atomic_file.hpp"
#include "backprop/util/version.hpp"

namespace bp::onnx {

namespace ox = ::onnx;
using nn::Act;
using nn::Init;

Standardization standardization(const nlohmann::json& preprocessing) {
  Standardization s;
  if (preprocessing.is_null()) return s;
  const data::Preprocessor pre = data::Preprocessor::from_json(preprocessing);
  if (pre.images()) {
    const data::FeatureColumn& c = pre.columns().front();
    s.images = true;
    s.center = {static_cast<float>(c.center)};
    s.scale = {static_cast<float>(c.scale)};
    s.feature_names = pre.feature_names();
    return s;
  }
  for (const data::FeatureColumn& c : pre.columns()) {
    if (c.kind == data::ColumnKind::Categorical) {
      s.center.insert(s.center.end(), c.categories.size(), 0.f);
      s.scale.insert(s.scale.end(), c.categories.size(), 1.f);
      s.impute.insert(s.impute.end(), c.categories.size(), 0.f);
    } else {
      s.center.push_back(static_cast<float>(c.center));
      s.scale.push_back(static_cast<float>(c.scale));
      s.impute.push_back(static_cast<float>(c.impute));
    }
  }
  s.feature_names = pre.feature_names();
  if (s.center.size() != s.feature_names.size())
    throw std::logic_error("standardization: " + std::to_string(s.center.size()) + " entries for " +
                           std::to_string(s.feature_names.size()) + " features");
  return s;
}

namespace {

// Builds the graph as modules are visited: `cur` is the tensor the next node reads.
class GraphBuilder {
 public:
  explicit GraphBuilder(ox::GraphProto& g) : g_(g) {}

  std::string fresh(const std::string& stem) { return stem + "_" + std::to_string(counter_++); }

  std::string initializer(const std::string& name, const Tensor& t) {
    ox::TensorProto* p = g_.add_initializer();
    p->set_name(name);
    p->set_data_type(ox::TensorProto::FLOAT);
    for (int64_t d : t.shape()) p->add_dims(d);
    p->set_raw_data(std::string(reinterpret_cast<const char*>(t.data()), static_cast<size_t>(t.numel()) * sizeof(float)));
    return name;
  }
  std::string initializer(const std::string& name, const std::vector<float>& v, Shape shape) {
    return initializer(name, Tensor(std::move(shape), v));
  }
  std::string int_initializer(const std::string& name, const std::vector<int64_t>& v) {
    ox::TensorProto* p = g_.add_initializer();
    p->set_name(name);
    p->set_data_type(ox::TensorProto::INT64);
    p->add_dims(static_cast<int64_t>(v.size()));
    for (int64_t x : v) p->add_int64_data(x);
    return name;
  }

  ox::NodeProto* node(const std::string& op, std::vector<std::string> inputs, const std::string& out_name = "") {
    ox::NodeProto* n = g_.add_node();
    n->set_op_type(op);
    n->set_name(fresh(op));
    for (const auto& i : inputs) n->add_input(i);
    const std::string out = out_name.empty() ? n->name() + "_out" : out_name;
    n->add_output(out);
    cur = out;
    return n;
  }

  std::string cur;

 private:
  ox::GraphProto& g_;
  int counter_ = 0;
};

void attr(ox::NodeProto* n, const std::string& name, int64_t v) {
  ox::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(ox::AttributeProto::INT);
  a->set_i(v);
}
void attr(ox::NodeProto* n, const std::string& name, float v) {
  ox::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(ox::AttributeProto::FLOAT);
  a->set_f(v);
}
void attr(ox::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  ox::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(ox::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

[[noreturn]] void refuse(const std::string& what) { throw OnnxError("export", what); }

void add_activation(GraphBuilder& b, Act a) {
  switch (a) {
    case Act::Identity: return;
    case Act::ReLU: b.node("Relu", {b.cur}); return;
    case Act::Sigmoid: b.node("Sigmoid", {b.cur}); return;
    case Act::Tanh: b.node("Tanh", {b.cur}); return;
    case Act::Softplus: b.node("Softplus", {b.cur}); return;
    case Act::LeakyReLU: attr(b.node("LeakyRelu", {b.cur}), "alpha", 0.01f); return;
    case Act::Softmax: attr(b.node("Softmax", {b.cur}), "axis", int64_t{-1}); return;
    case Act::LogSoftmax: attr(b.node("LogSoftmax", {b.cur}), "axis", int64_t{-1}); return;
    case Act::Step: refuse("the binary step activation has no ONNX export (it is not trainable by backpropagation)");
  }
}

// `prefix` names the module's parameters as the model file does ("3.weight").
void add_module(GraphBuilder& b, nn::Module& m, const std::string& prefix) {
  const std::string type = m.type();
  const nlohmann::json cfg = m.config();
  const std::string pre = prefix.empty() ? "" : prefix + ".";
  if (auto* seq = dynamic_cast<nn::Sequential*>(&m)) {
    for (size_t i = 0; i < seq->size(); ++i) add_module(b, (*seq)[i], pre + std::to_string(i));
    return;
  }
  if (auto* lin = dynamic_cast<nn::Linear*>(&m)) {
    std::vector<std::string> in{b.cur, b.initializer(pre + "weight", lin->weight.value())};
    if (lin->bias.defined()) in.push_back(b.initializer(pre + "bias", lin->bias.value()));
    attr(b.node("Gemm", in), "transB", int64_t{1});  // y = x Wᵀ + b, W (out, in) as stored
    return;
  }
  if (auto* act = dynamic_cast<nn::Activation*>(&m)) return add_activation(b, act->act());
  if (auto* conv = dynamic_cast<nn::Conv2d*>(&m)) {
    const nn::Conv2dOptions& o = conv->options();
    std::vector<std::string> in{b.cur, b.initializer(pre + "weight", conv->weight.value())};
    if (conv->bias.defined()) in.push_back(b.initializer(pre + "bias", conv->bias.value()));
    ox::NodeProto* n = b.node("Conv", in);
    attr(n, "kernel_shape", std::vector<int64_t>{o.kernel, o.kernel});
    attr(n, "strides", std::vector<int64_t>{o.stride, o.stride});
    attr(n, "pads", std::vector<int64_t>{o.padding, o.padding, o.padding, o.padding});
    attr(n, "dilations", std::vector<int64_t>{o.dilation, o.dilation});
    attr(n, "group", o.groups);
    return add_activation(b, o.act);
  }
  if (type == "max_pool2d" || type == "avg_pool2d") {
    const int64_t k = cfg.at("kernel"), s = cfg.at("stride"), p = cfg.at("padding");
    ox::NodeProto* n = b.node(type == "max_pool2d" ? "MaxPool" : "AveragePool", {b.cur});
    attr(n, "kernel_shape", std::vector<int64_t>{k, k});
    attr(n, "strides", std::vector<int64_t>{s, s});
    attr(n, "pads", std::vector<int64_t>{p, p, p, p});
    if (type == "avg_pool2d") attr(n, "count_include_pad", int64_t{1});  // ops::avg_pool2d counts padding
    return;
  }
  if (type == "global_avg_pool2d") {
    b.node("GlobalAveragePool", {b.cur});  // (N, C, 1, 1); ours gives (N, C)
    attr(b.node("Flatten", {b.cur}), "axis", int64_t{1});
    return;
  }
  if (auto* bn = dynamic_cast<nn::BatchNorm*>(&m)) {
    const int64_t c = cfg.at("channels");
    const Tensor gamma = bn->weight.defined() ? bn->weight.value() : Tensor({c}, 1.f);
    const Tensor beta = bn->bias.defined() ? bn->bias.value() : Tensor({c}, 0.f);
    ox::NodeProto* n = b.node("BatchNormalization",
                              {b.cur, b.initializer(pre + "weight", gamma), b.initializer(pre + "bias", beta),
                               b.initializer(pre + "running_mean", bn->running_mean),
                               b.initializer(pre + "running_var", bn->running_var)});
    attr(n, "epsilon", cfg.at("eps").get<float>());
    return add_activation(b, bn->act());
  }
  if (type == "flatten") {
    attr(b.node("Flatten", {b.cur}), "axis", int64_t{1});
    return;
  }
  if (type == "reshape") {
    std::vector<int64_t> shape{0};  // 0: the batch dimension as it comes
    for (int64_t d : cfg.at("shape").get<Shape>()) shape.push_back(d);
    b.node("Reshape", {b.cur, b.int_initializer(b.fresh(pre + "shape"), shape)});
    return;
  }
  if (type == "dropout" || type == "random_shift_flip") return;  // training-time only: the identity in eval mode
  if (auto* res = dynamic_cast<nn::Residual*>(&m)) {
    const std::string x = b.cur;
    add_module(b, res->block(), pre + "block");
    const std::string y = b.cur;
    b.cur = x;
    if (res->projection()) add_module(b, *res->projection(), pre + "projection");
    const std::string shortcut = b.cur;
    b.node("Add", {y, shortcut});
    return add_activation(b, nn::act_from_string(cfg.at("post").get<std::string>()));
  }
  if (type == "embedding" || type == "rnn" || type == "lstm" || type == "gru")
    refuse("the recurrent layer '" + type + "' (" + prefix + ") is not exportable to ONNX yet (docs/onnx.md)");
  refuse("the layer '" + type + "' (" + prefix + ") has no ONNX export");
}

// The input's dims after the batch, as far as the first layer or the preprocessing tells.
Shape input_dims(nn::Module& m, const Standardization& st, const nlohmann::json& preprocessing) {
  if (!st.center.empty()) {
    if (!st.images) return {static_cast<int64_t>(st.center.size())};
    const data::Preprocessor pre = data::Preprocessor::from_json(preprocessing);
    return {pre.num_features()};
  }
  nn::Module* first = &m;
  while (auto* seq = dynamic_cast<nn::Sequential*>(first)) {
    if (seq->size() == 0) break;
    first = &(*seq)[0];
  }
  if (auto* lin = dynamic_cast<nn::Linear*>(first)) return {lin->in_features()};
  if (auto* conv = dynamic_cast<nn::Conv2d*>(first)) return {conv->in_channels(), -1, -1};
  if (first->type() == "reshape") return {shape_numel(first->config().at("shape").get<Shape>())};
  return {-1};
}

void set_shape(ox::ValueInfoProto* v, const std::string& name, const Shape& dims) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(ox::TensorProto::FLOAT);
  auto* sh = tt->mutable_shape();
  sh->add_dim()->set_dim_param("batch");
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] >= 0)
      sh->add_dim()->set_dim_value(dims[i]);
    else
      sh->add_dim()->set_dim_param(std::string("d").append(std::to_string(i + 1)));  // not "d" + s: GCC 12's -Wrestrict
  }
}

void metadata(ox::ModelProto& model, const std::string& key, const std::string& value) {
  auto* p = model.add_metadata_props();
  p->set_key(key);
  p->set_value(value);
}

}  // namespace

void check_model_bytes(const std::string& bytes, const std::filesystem::path& name) {
  ox::ModelProto model;
  if (!model.ParseFromString(bytes)) throw OnnxError(name, "not an ONNX model (the protobuf does not parse)");
  try {
    ox::checker::check_model(model);
  } catch (const std::exception& e) {
    throw OnnxError(name, std::string("the ONNX checker refuses the model: ") + e.what());
  }
}

std::string export_model_bytes(nn::Module& module, const io::ModelInfo& info) {
  module.set_training(false);
  const Standardization st = standardization(info.preprocessing);
  ox::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name("backprop");
  model.set_producer_version(BACKPROP_VERSION_STRING);
  model.set_doc_string("Exported by backprop export (docs/onnx.md)");
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kExportOpset);
  ox::GraphProto* g = model.mutable_graph();
  g->set_name("backprop");
  GraphBuilder b(*g);
  b.cur = kInputName;
  if (!st.center.empty()) {
    const Shape s{static_cast<int64_t>(st.center.size())};
    // Named so that import recognises them (and checks them against the stored preprocessing).
    if (!st.impute.empty()) {
      const std::string x = b.cur;
      b.node("IsNaN", {x})->set_name("backprop.standardize.isnan");
      b.node("Where", {b.cur, b.initializer("backprop.standardize.impute", st.impute, s), x})
          ->set_name("backprop.standardize.where");
    }
    b.node("Sub", {b.cur, b.initializer("backprop.standardize.center", st.center, s)})->set_name("backprop.standardize.sub");
    b.node("Div", {b.cur, b.initializer("backprop.standardize.scale", st.scale, s)})->set_name("backprop.standardize.div");
  }
  add_module(b, module, "");
  const bool regression = info.task == Task::Regression;
  if (info.task == Task::Multiclass) attr(b.node("Softmax", {b.cur}), "axis", int64_t{-1});
  if (info.task == Task::Binary) b.node("Sigmoid", {b.cur});
  if (b.cur == kInputName) b.node("Identity", {b.cur});
  // The last node writes the graph output.
  const std::string out = regression ? kPredictionName : kProbabilitiesName;
  g->mutable_node(g->node_size() - 1)->set_output(0, out);
  if (info.task != Task::Regression) g->mutable_node(g->node_size() - 1)->set_name("backprop.probabilities");

  set_shape(g->add_input(), kInputName, input_dims(module, st, info.preprocessing));
  set_shape(g->add_output(), out, {-1});
  metadata(model, "backprop.task", to_string(info.task));
  metadata(model, "backprop.class_names", nlohmann::json(info.class_names).dump());
  if (!info.preprocessing.is_null()) {
    metadata(model, "backprop.preprocessing", info.preprocessing.dump());
    metadata(model, "backprop.input_features", nlohmann::json(st.feature_names).dump());
  }
  if (!info.calibrator.is_null())
    metadata(model, "backprop.note", "the model's calibrator is not in the graph: the output is the uncalibrated P(positive)");
  std::string bytes;
  if (!model.SerializeToString(&bytes)) throw OnnxError("export", "protobuf could not serialize the model");
  check_model_bytes(bytes, "export");
  return bytes;
}

void export_model(const std::filesystem::path& path, nn::Module& module, const io::ModelInfo& info) {
  const std::string bytes = export_model_bytes(module, info);
  util::write_file_atomic(path, bytes);
}

}  // namespace bp::onnx
