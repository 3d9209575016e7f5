// An ONNX graph mapped onto nn:: modules. The graph is walked from its one data input: a chain
// of nodes becomes a Sequential, a fork that meets again at an Add becomes a Residual (the
// longer branch the block, the other the shortcut). Every attribute a module cannot honour is
// refused by name, so that a graph either imports exactly or not at all.
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "backprop/nn/layers.hpp"
#include "backprop/onnx/onnx.hpp"

namespace bp::onnx {

namespace ox = ::onnx;
using nn::Act;
using nn::Init;

const std::vector<std::string>& supported_operators() {
  static const std::vector<std::string> ops{
      "Gemm",      "MatMul",  "Add",     "Conv",    "MaxPool",         "AveragePool",      "GlobalAveragePool",
      "Relu",      "Sigmoid", "Tanh",    "Softmax", "BatchNormalization", "Flatten",       "Reshape",
      "Identity",  "Constant"};
  return ops;
}

namespace {

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw OnnxError(path, "cannot open the file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A TensorProto's values as a Tensor; `ints` receives int64 data (shapes) instead.
Tensor to_tensor(const ox::TensorProto& p, const std::filesystem::path& where, std::vector<int64_t>* ints = nullptr) {
  if (p.data_location() == ox::TensorProto::EXTERNAL) throw OnnxError(where, "tensor '" + p.name() + "' has external data (not supported)");
  Shape shape(p.dims().begin(), p.dims().end());
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && n > (int64_t{1} << 40) / d)) throw OnnxError(where, "tensor '" + p.name() + "' has a bad shape " + shape_str(shape));
    n *= d;
  }
  // The values must be there before anything is allocated for them (a corrupt file's dims).
  const size_t have = !p.raw_data().empty() ? p.raw_data().size()
                      : p.data_type() == ox::TensorProto::INT64 ? static_cast<size_t>(p.int64_data_size()) * 8
                                                                  : static_cast<size_t>(p.float_data_size()) * 4;
  const size_t width = p.data_type() == ox::TensorProto::INT64 ? 8 : 4;
  if (n < 0 || have != static_cast<size_t>(n) * width)
    throw OnnxError(where, "tensor '" + p.name() + "': " + std::to_string(have) + " bytes of values for shape " + shape_str(shape));
  if (p.data_type() == ox::TensorProto::INT64 && ints) {
    ints->resize(static_cast<size_t>(n));
    if (!p.raw_data().empty()) {
      if (p.raw_data().size() != static_cast<size_t>(n) * 8) throw OnnxError(where, "tensor '" + p.name() + "': raw data of the wrong size");
      std::memcpy(ints->data(), p.raw_data().data(), p.raw_data().size());
    } else {
      if (p.int64_data_size() != n) throw OnnxError(where, "tensor '" + p.name() + "': int64_data of the wrong size");
      std::copy(p.int64_data().begin(), p.int64_data().end(), ints->begin());
    }
    return Tensor();
  }
  if (p.data_type() != ox::TensorProto::FLOAT)
    throw OnnxError(where, "tensor '" + p.name() + "' is of type " + ox::TensorProto::DataType_Name(p.data_type()) +
                               " (only FLOAT is supported)");
  Tensor t(shape);
  if (!p.raw_data().empty()) {
    if (p.raw_data().size() != static_cast<size_t>(n) * 4) throw OnnxError(where, "tensor '" + p.name() + "': raw data of the wrong size");
    std::memcpy(t.data(), p.raw_data().data(), p.raw_data().size());
  } else {
    if (p.float_data_size() != n) throw OnnxError(where, "tensor '" + p.name() + "': float_data of the wrong size");
    std::copy(p.float_data().begin(), p.float_data().end(), t.data());
  }
  return t;
}

// Thrown inside the walk; import_graph adds the operator and node to the message.
struct Unsupported {
  std::string why;
};

class Importer {
 public:
  Importer(ox::ModelProto& model, const std::filesystem::path& name) : model_(model), name_(name) {
    for (const auto& o : model.opset_import())
      if (o.domain().empty() || o.domain() == "ai.onnx") opset_ = o.version();
  }

  ImportedGraph run(const std::map<std::string, Tensor>& bound, const std::map<std::string, std::string>& serialized = {}) {
    ox::GraphProto& g = *model_.mutable_graph();
    // The first operator outside the subset, before anything else is looked at.
    const auto& ok = supported_operators();
    for (const auto& n : g.node())
      if ((!n.domain().empty() && n.domain() != "ai.onnx") || std::find(ok.begin(), ok.end(), n.op_type()) == ok.end())
        throw OnnxError(name_, "operator " + (n.domain().empty() ? "" : n.domain() + ".") + n.op_type() + " (node '" +
                                   (n.name().empty() ? n.output(0) : n.name()) + "') is not supported (docs/onnx.md lists the operators import reads)");
    // Bound inputs become initializers (before shape inference, which then knows them).
    for (const auto& [name, t] : bound) {
      ox::TensorProto* p = g.add_initializer();
      p->set_name(name);
      p->set_data_type(ox::TensorProto::FLOAT);
      for (int64_t d : t.shape()) p->add_dims(d);
      p->set_raw_data(std::string(reinterpret_cast<const char*>(t.data()), static_cast<size_t>(t.numel()) * 4));
    }
    for (const auto& [name, bytes] : serialized) {
      ox::TensorProto* p = g.add_initializer();
      if (!p->ParseFromString(bytes)) throw OnnxError(name_, "the value bound to '" + name + "' is not a serialized TensorProto");
      p->set_name(name);
    }
    consts_.clear();
    for (const auto& init : g.initializer()) consts_[init.name()] = &init;
    try {
      ox::shape_inference::InferShapes(model_);
    } catch (const std::exception& e) {
      throw OnnxError(name_, std::string("ONNX shape inference fails: ") + e.what());
    }
    for (const auto& v : g.value_info()) shapes_[v.name()] = &v;
    for (const auto& v : g.input()) shapes_[v.name()] = &v;
    for (const auto& v : g.output()) shapes_[v.name()] = &v;

    // A node's extra outputs (BatchNormalization's training statistics, MaxPool's indices) are
    // refused by the node's name before the graph's shape is looked at.
    for (const auto& n : g.node())
      for (int k = 1; k < n.output_size(); ++k)
        if (!n.output(k).empty())
          throw OnnxError(name_, "operator " + n.op_type() + " (node '" + (n.name().empty() ? n.output(0) : n.name()) +
                                     "'): output " + std::to_string(k) + " ('" + n.output(k) + "') is not supported");
    std::vector<std::string> data_inputs;
    for (const auto& in : g.input())
      if (!consts_.count(in.name())) data_inputs.push_back(in.name());
    if (data_inputs.size() != 1) {
      std::string names;
      for (const auto& d : data_inputs) names += (names.empty() ? "" : ", ") + d;
      throw OnnxError(name_, "the graph has " + std::to_string(data_inputs.size()) + " data inputs (" + names +
                                 "): one is supported, the others must be initializers");
    }
    for (const auto& in : g.input())
      if (in.name() == data_inputs[0] &&
          (!in.type().has_tensor_type() || in.type().tensor_type().elem_type() != ox::TensorProto::FLOAT))
        throw OnnxError(name_, "the graph's data input '" + in.name() + "' is not a float32 tensor (only FLOAT is supported)");
    for (const auto& out : g.output())
      if (!out.type().has_tensor_type() || out.type().tensor_type().elem_type() != ox::TensorProto::FLOAT)
        throw OnnxError(name_, "the graph's output '" + out.name() + "' is not a float32 tensor (only FLOAT is supported)");
    if (g.output_size() != 1) throw OnnxError(name_, "the graph has " + std::to_string(g.output_size()) + " outputs: one is supported");
    for (int i = 0; i < g.node_size(); ++i) {
      const ox::NodeProto& n = g.node(i);
      if (!n.domain().empty() && n.domain() != "ai.onnx")
        throw OnnxError(name_, "operator " + n.domain() + "." + n.op_type() + " (node '" + n.name() + "') is not supported");
      if (n.op_type() == "Constant") {
        constant_node(n);
        continue;
      }
      for (const auto& in : n.input())
        if (!in.empty()) consumers_[in].push_back(i);
    }
    out_ = g.output(0).name();
    ImportedGraph r;
    r.input_shape = dims(data_inputs[0]);
    if (!r.input_shape.empty()) r.input_shape.erase(r.input_shape.begin());
    r.output_shape = dims(g.output(0).name());
    if (!r.output_shape.empty()) r.output_shape.erase(r.output_shape.begin());
    auto seq = std::make_unique<nn::Sequential>();
    // A flat row is viewed as the declared example shape where it has more than one dim.
    if (r.input_shape.size() > 1 && std::all_of(r.input_shape.begin(), r.input_shape.end(), [](int64_t d) { return d > 0; }))
      seq->emplace<nn::Reshape>(r.input_shape);
    const std::string end = chain(*seq, data_inputs[0], out_);
    if (end != out_) throw OnnxError(name_, "the graph output '" + out_ + "' is not reached from the input");
    r.module = std::move(seq);
    r.module->set_training(false);
    r.operators = operators_;
    for (const auto& p : model_.metadata_props()) r.metadata[p.key()] = p.value();
    return r;
  }

 private:
  void constant_node(const ox::NodeProto& n) {
    for (const auto& a : n.attribute()) {
      if (a.name() == "value" && a.has_t()) {
        auto* t = model_.mutable_graph()->add_initializer();  // kept alive with the model
        *t = a.t();
        t->set_name(n.output(0));
        consts_[n.output(0)] = t;
        return;
      }
    }
    throw OnnxError(name_, "operator Constant (node '" + n.name() + "') without a tensor 'value' is not supported");
  }

  // The inferred dims of a tensor (-1 where unknown); empty when even the rank is unknown.
  Shape dims(const std::string& t) const {
    auto it = shapes_.find(t);
    if (it == shapes_.end() || !it->second->type().tensor_type().has_shape()) return {};
    Shape s;
    for (const auto& d : it->second->type().tensor_type().shape().dim()) s.push_back(d.has_dim_value() ? d.dim_value() : -1);
    return s;
  }
  int rank(const std::string& t) const {
    const Shape s = dims(t);
    if (s.empty()) throw Unsupported{"the rank of '" + t + "' is unknown (shape inference could not tell)"};
    return static_cast<int>(s.size());
  }
  bool is_const(const std::string& t) const { return consts_.count(t) > 0; }
  Tensor constant(const std::string& t) const {
    auto it = consts_.find(t);
    if (it == consts_.end()) throw Unsupported{"input '" + t + "' must be a constant (an initializer)"};
    return to_tensor(*it->second, name_);
  }
  std::vector<int64_t> int_constant(const std::string& t) const {
    auto it = consts_.find(t);
    if (it == consts_.end()) throw Unsupported{"input '" + t + "' must be a constant (an initializer)"};
    std::vector<int64_t> v;
    to_tensor(*it->second, name_, &v);
    if (it->second->data_type() != ox::TensorProto::INT64) throw Unsupported{"input '" + t + "' must be int64"};
    return v;
  }

  // Attributes: every attribute a node carries must be one the converter read (`known`).
  struct Attrs {
    const ox::NodeProto& n;
    std::set<std::string> read;
    const ox::AttributeProto* find(const std::string& k) {
      read.insert(k);
      for (const auto& a : n.attribute())
        if (a.name() == k) return &a;
      return nullptr;
    }
    int64_t i(const std::string& k, int64_t def) {
      const auto* a = find(k);
      return a ? a->i() : def;
    }
    float f(const std::string& k, float def) {
      const auto* a = find(k);
      return a ? a->f() : def;
    }
    std::string s(const std::string& k, const std::string& def) {
      const auto* a = find(k);
      return a ? a->s() : def;
    }
    std::vector<int64_t> ints(const std::string& k) {
      const auto* a = find(k);
      return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : std::vector<int64_t>{};
    }
    void done() const {
      for (const auto& a : n.attribute())
        if (!read.count(a.name())) throw Unsupported{"attribute '" + a.name() + "' is not supported"};
    }
  };

  static bool all_equal(const std::vector<int64_t>& v, int64_t x) {
    return std::all_of(v.begin(), v.end(), [x](int64_t e) { return e == x; });
  }

  // Reads square 2-D window attributes (kernel, strides, pads, dilations) shared by Conv and the pools.
  struct Window {
    int64_t k = 0, s = 1, p = 0, d = 1;
  };
  Window window(Attrs& a, const std::vector<int64_t>& kernel_from_weight) {
    Window w;
    std::vector<int64_t> ks = a.ints("kernel_shape");
    if (ks.empty()) ks = kernel_from_weight;
    if (ks.size() != 2) throw Unsupported{"only 2-D windows are supported"};
    if (ks[0] != ks[1]) throw Unsupported{"only square kernels are supported (kernel_shape " + std::to_string(ks[0]) + "×" + std::to_string(ks[1]) + ")"};
    if (!kernel_from_weight.empty() && ks != kernel_from_weight) throw Unsupported{"kernel_shape disagrees with the weight"};
    w.k = ks[0];
    const std::string pad_mode = a.s("auto_pad", "NOTSET");
    if (pad_mode != "NOTSET" && pad_mode != "VALID") throw Unsupported{"auto_pad " + pad_mode + " is not supported"};
    const auto strides = a.ints("strides");
    if (!strides.empty()) {
      if (strides.size() != 2 || strides[0] != strides[1]) throw Unsupported{"only equal strides are supported"};
      w.s = strides[0];
    }
    const auto pads = a.ints("pads");
    if (!pads.empty()) {
      if (pads.size() != 4 || !all_equal(pads, pads[0])) throw Unsupported{"only equal pads on every side are supported"};
      w.p = pads[0];
    }
    if (pad_mode == "VALID") w.p = 0;
    const auto dil = a.ints("dilations");
    if (!dil.empty()) {
      if (dil.size() != 2 || dil[0] != dil[1]) throw Unsupported{"only equal dilations are supported"};
      w.d = dil[0];
    }
    return w;
  }

  // The tensor a node reads that is not a constant (exactly one).
  std::string data_input(const ox::NodeProto& n) const {
    std::string found;
    for (const auto& in : n.input())
      if (!in.empty() && !is_const(in)) {
        if (!found.empty()) throw Unsupported{"more than one input is computed (only Add may join two branches)"};
        found = in;
      }
    if (found.empty()) throw Unsupported{"every input is a constant"};
    return found;
  }

  const ox::NodeProto& node(int i) const { return model_.graph().node(i); }

  int only_consumer(const std::string& t) const {
    auto it = consumers_.find(t);
    if (it == consumers_.end() || it->second.size() != 1) return -1;
    return it->second[0];
  }

  bool is_join(const ox::NodeProto& n) const {
    return n.op_type() == "Add" && n.input_size() == 2 && !is_const(n.input(0)) && !is_const(n.input(1));
  }

  // Converts the nodes from tensor `t` until tensor `stop` (or a tensor nothing reads); returns the last tensor.
  std::string chain(nn::Sequential& seq, std::string t, const std::string& stop) {
    while (t != stop) {
      auto it = consumers_.find(t);
      if (it == consumers_.end() || it->second.empty()) return t;
      const std::vector<int>& cons = it->second;
      if (cons.size() == 1 && !is_join(node(cons[0]))) {
        t = convert(seq, cons[0]);
        continue;
      }
      t = fork(seq, t, cons);
    }
    return t;
  }

  // A fork at `t`: two branches (or one and the identity) meeting at one Add.
  std::string fork(nn::Sequential& seq, const std::string& t, const std::vector<int>& cons) {
    if (cons.size() > 2) throw OnnxError(name_, "tensor '" + t + "' is read by " + std::to_string(cons.size()) + " nodes: only a two-way fork that meets at an Add (a residual connection) is supported");
    // Follows a branch's single-consumer chain to the Add that ends it.
    auto find_join = [&](int start) {
      int i = start;
      for (int guard = 0; guard < model_.graph().node_size() + 1; ++guard) {
        const ox::NodeProto& n = node(i);
        if (is_join(n)) return i;
        const int next = only_consumer(n.output(0));
        if (next < 0) break;
        i = next;
      }
      throw OnnxError(name_, "the branches leaving tensor '" + t + "' do not meet at one Add (only residual connections are supported)");
    };
    std::vector<int> joins;
    for (int c : cons) joins.push_back(find_join(c));
    const int join = joins[0];
    if (!std::all_of(joins.begin(), joins.end(), [join](int j) { return j == join; }))
      throw OnnxError(name_, "the branches leaving tensor '" + t + "' do not meet at one Add (only residual connections are supported)");
    const ox::NodeProto& add = node(join);
    std::vector<std::unique_ptr<nn::Sequential>> branches;
    std::vector<size_t> lengths;
    for (const std::string& end : {add.input(0), add.input(1)}) {
      auto br = std::make_unique<nn::Sequential>();
      const size_t before = operators_.size();
      if (end != t) {
        const int start = [&] {
          for (int c : cons)
            if (c != join) {
              // The consumer whose chain reaches `end`.
              int i = c;
              while (true) {
                if (node(i).output(0) == end) return c;
                const int nx = only_consumer(node(i).output(0));
                if (nx < 0 || nx == join) break;
                i = nx;
              }
            }
          throw OnnxError(name_, "cannot follow the branch to '" + end + "'");
        }();
        const std::string out = convert(*br, start);
        if (chain(*br, out, end) != end) throw OnnxError(name_, "cannot follow the branch to '" + end + "'");
      }
      lengths.push_back(operators_.size() - before);
      branches.push_back(std::move(br));
    }
    operators_.push_back("Add");
    const size_t block = lengths[0] >= lengths[1] ? 0 : 1;
    std::unique_ptr<nn::Module> proj;
    if (branches[1 - block]->size() > 0) proj = std::move(branches[1 - block]);
    if (branches[block]->size() == 0) throw OnnxError(name_, "node '" + add.name() + "': Add of a tensor to itself is not supported");
    seq.emplace<nn::Residual>(std::move(branches[block]), std::move(proj));
    return add.output(0);
  }

  // Converts node i (and a following node it fuses with); returns the tensor that continues.
  std::string convert(nn::Sequential& seq, int i) {
    const ox::NodeProto& n = node(i);
    try {
      operators_.push_back(n.op_type());
      return convert_node(seq, n);
    } catch (const Unsupported& u) {
      throw OnnxError(name_, "operator " + n.op_type() + " (node '" + (n.name().empty() ? n.output(0) : n.name()) + "'): " + u.why);
    } catch (const OnnxError&) {
      throw;
    } catch (const std::exception& e) {
      throw OnnxError(name_, "operator " + n.op_type() + " (node '" + (n.name().empty() ? n.output(0) : n.name()) + "'): " + e.what());
    }
  }

  void single_output(const ox::NodeProto& n) const {
    for (int k = 1; k < n.output_size(); ++k)
      if (!n.output(k).empty()) throw Unsupported{"output " + std::to_string(k) + " ('" + n.output(k) + "') is not supported"};
  }

  std::string convert_node(nn::Sequential& seq, const ox::NodeProto& n) {
    const std::string& op = n.op_type();
    Attrs a{n, {}};
    single_output(n);
    const std::string x = data_input(n);
    const std::string y = n.output(0);
    if (op == "Relu" || op == "Sigmoid" || op == "Tanh" || op == "Identity") {
      a.done();
      if (op != "Identity") seq.emplace<nn::Activation>(op == "Relu" ? Act::ReLU : op == "Sigmoid" ? Act::Sigmoid : Act::Tanh);
      return y;
    }
    if (op == "Softmax") {
      const int r = rank(x);
      int64_t axis = a.i("axis", opset_ >= 13 ? -1 : 1);
      a.done();
      if (axis < 0) axis += r;
      // Before opset 13 Softmax flattens from `axis` on; either way ours is over the last dim only.
      if (axis != r - 1) throw Unsupported{"axis " + std::to_string(axis) + " of a rank-" + std::to_string(r) + " input: only the last axis is supported"};
      seq.emplace<nn::Activation>(Act::Softmax);
      return y;
    }
    if (op == "Gemm") {
      if (n.input(0) != x) throw Unsupported{"the computed input must be A"};
      const int64_t ta = a.i("transA", 0), tb = a.i("transB", 0);
      const float alpha = a.f("alpha", 1.f), beta = a.f("beta", 1.f);
      a.done();
      if (ta) throw Unsupported{"transA=1 is not supported"};
      const Tensor b = constant(n.input(1));
      if (b.ndim() != 2) throw Unsupported{"B must be 2-D"};
      const int64_t in = tb ? b.dim(1) : b.dim(0), out = tb ? b.dim(0) : b.dim(1);
      Tensor bias;
      if (n.input_size() > 2 && !n.input(2).empty()) bias = broadcast_bias(constant(n.input(2)), out, "C");
      make_linear(seq, b, tb != 0, alpha, bias, beta, in, out);
      return y;
    }
    if (op == "MatMul") {
      if (n.input(0) != x) throw Unsupported{"the computed input must be A (x · W)"};
      a.done();
      if (rank(x) != 2) throw Unsupported{"only a 2-D computed input is supported (rank " + std::to_string(rank(x)) + ")"};
      const Tensor b = constant(n.input(1));
      if (b.ndim() != 2) throw Unsupported{"B must be 2-D"};
      const int64_t in = b.dim(0), out = b.dim(1);
      // A following Add of a constant bias is the Linear layer's bias.
      const int next = only_consumer(y);
      if (next >= 0) {
        const ox::NodeProto& add = node(next);
        if (add.op_type() == "Add" && add.input_size() == 2 && add.attribute_size() == 0) {
          const std::string other = add.input(0) == y ? add.input(1) : add.input(0);
          if (is_const(other)) {
            const Tensor c = constant(other);
            if (c.ndim() <= 2 && c.numel() == out && (c.ndim() < 2 || c.dim(0) == 1)) {
              make_linear(seq, b, false, 1.f, Tensor({out}, std::vector<float>(c.data(), c.data() + out)), 1.f, in, out);
              operators_.push_back("Add");
              return add.output(0);
            }
          }
        }
      }
      make_linear(seq, b, false, 1.f, Tensor(), 1.f, in, out);
      return y;
    }
    if (op == "Add") throw Unsupported{"adding a constant is supported only as the bias right after a MatMul"};
    if (op == "Conv") {
      if (n.input(0) != x) throw Unsupported{"the computed input must be X"};
      if (rank(x) != 4) throw Unsupported{"only 2-D convolutions (rank-4 input) are supported"};
      const Tensor w = constant(n.input(1));
      if (w.ndim() != 4) throw Unsupported{"W must be 4-D"};
      const Window win = window(a, {w.dim(2), w.dim(3)});
      const int64_t groups = a.i("group", 1);
      a.done();
      Tensor bias;
      if (n.input_size() > 2 && !n.input(2).empty()) bias = constant(n.input(2));
      nn::Conv2dOptions o{.kernel = win.k, .stride = win.s, .padding = win.p, .dilation = win.d, .groups = groups,
                          .bias = bias.numel() > 0};
      Rng rng(0);
      auto conv = std::make_unique<nn::Conv2d>(w.dim(1) * groups, w.dim(0), o, rng);
      copy_into(conv->weight.value(), w, "W");
      if (o.bias) copy_into(conv->bias.value(), bias, "B");
      seq.add(std::move(conv));
      return y;
    }
    if (op == "MaxPool" || op == "AveragePool") {
      if (rank(x) != 4) throw Unsupported{"only 2-D pooling (rank-4 input) is supported"};
      const Window win = window(a, {});
      if (a.i("ceil_mode", 0) != 0) throw Unsupported{"ceil_mode=1 is not supported"};
      if (op == "MaxPool" && a.i("storage_order", 0) != 0) throw Unsupported{"storage_order=1 is not supported"};
      if (op == "AveragePool" && win.p > 0 && a.i("count_include_pad", 0) == 0)
        throw Unsupported{"padding left out of the average (count_include_pad=0) is not supported: pads count as zeros here"};
      a.i("count_include_pad", 0);
      a.done();
      if (win.d != 1) throw Unsupported{"dilations are not supported"};
      if (win.p > win.k / 2) throw Unsupported{"pads larger than half the kernel are not supported"};
      if (op == "MaxPool")
        seq.emplace<nn::MaxPool2d>(win.k, win.s, win.p);
      else
        seq.emplace<nn::AvgPool2d>(win.k, win.s, win.p);
      return y;
    }
    if (op == "GlobalAveragePool") {
      a.done();
      const Shape d = dims(x);
      if (d.size() != 4 || d[1] <= 0) throw Unsupported{"only a rank-4 input with known channels is supported"};
      seq.emplace<nn::GlobalAvgPool2d>();
      // Ours gives (N, C); ONNX's (N, C, 1, 1): a following Flatten is then a no-op.
      const int next = only_consumer(y);
      if (next >= 0 && node(next).op_type() == "Flatten") {
        Attrs fa{node(next), {}};
        const int64_t axis = fa.i("axis", 1);
        fa.done();
        if (axis == 1 || axis == -3) {
          operators_.push_back("Flatten");
          return node(next).output(0);
        }
      }
      seq.emplace<nn::Reshape>(Shape{d[1], 1, 1});
      return y;
    }
    if (op == "BatchNormalization") {
      if (n.input(0) != x) throw Unsupported{"the computed input must be X"};
      const float eps = a.f("epsilon", 1e-5f);
      a.f("momentum", 0.9f);  // training only
      if (a.i("training_mode", 0) != 0) throw Unsupported{"training_mode=1 is not supported"};
      if (a.i("spatial", 1) != 1) throw Unsupported{"spatial=0 is not supported"};
      a.i("is_test", 1);
      a.ints("consumed_inputs");
      a.done();
      const int r = rank(x);
      if (r != 2 && r != 3 && r != 4) throw Unsupported{"only inputs of rank 2, 3 or 4 are supported"};
      const Tensor scale = constant(n.input(1)), b = constant(n.input(2)), mean = constant(n.input(3)), var = constant(n.input(4));
      const int64_t c = scale.numel();
      auto bn = std::make_unique<nn::BatchNorm>(c, r == 4 ? 2 : 1, 0.1f, eps, true);
      copy_into(bn->weight.value(), scale, "scale");
      copy_into(bn->bias.value(), b, "B");
      copy_into(bn->running_mean, mean, "mean");
      copy_into(bn->running_var, var, "var");
      seq.add(std::move(bn));
      return y;
    }
    if (op == "Flatten") {
      const int r = rank(x);
      int64_t axis = a.i("axis", 1);
      a.done();
      if (axis < 0) axis += r;
      if (axis != 1) throw Unsupported{"axis " + std::to_string(axis) + ": only axis 1 (keep the batch dimension) is supported"};
      seq.emplace<nn::Flatten>();
      return y;
    }
    if (op == "Reshape") {
      if (n.input(0) != x) throw Unsupported{"the computed input must be data"};
      if (a.i("allowzero", 0) != 0) throw Unsupported{"allowzero=1 is not supported"};
      a.done();
      const std::vector<int64_t> shape = int_constant(n.input(1));
      const Shape in = dims(x), out = dims(y);
      if (shape.empty()) throw Unsupported{"a reshape to a scalar is not supported"};
      Shape per;
      bool batch_kept = shape[0] == 0 || (!in.empty() && !out.empty() && in[0] > 0 && out[0] == in[0]);
      // -1 first is the batch when the other dims hold exactly one example (unknown example
      // dims: Reshape checks that as it runs).
      if (shape[0] == -1 && std::all_of(shape.begin() + 1, shape.end(), [](int64_t d) { return d > 0; })) {
        const Shape rest(shape.begin() + 1, shape.end());
        const bool in_known = in.size() > 1 && std::all_of(in.begin() + 1, in.end(), [](int64_t d) { return d > 0; });
        batch_kept = !in_known || shape_numel(Shape(in.begin() + 1, in.end())) == shape_numel(rest);
      }
      if (!batch_kept) throw Unsupported{"only a reshape that keeps the batch dimension (the first) is supported"};
      if (out.size() == shape.size() && std::all_of(out.begin() + 1, out.end(), [](int64_t d) { return d > 0; })) {
        per.assign(out.begin() + 1, out.end());
      } else {
        for (size_t k = 1; k < shape.size(); ++k) {
          if (shape[k] == 0 && k < in.size() && in[k] > 0)
            per.push_back(in[k]);
          else if (shape[k] > 0)
            per.push_back(shape[k]);
          else
            throw Unsupported{"the target shape's dims after the batch cannot be resolved"};
        }
      }
      seq.emplace<nn::Reshape>(per);
      return y;
    }
    throw Unsupported{"not supported (supported: Gemm, MatMul(+Add), Conv, MaxPool, AveragePool, GlobalAveragePool, Relu, Sigmoid, Tanh, Softmax, BatchNormalization, Flatten, Reshape, Add joining a residual branch, Identity)"};
  }

  static Tensor broadcast_bias(const Tensor& c, int64_t out, const char* what) {
    if (c.numel() == out && (c.ndim() <= 1 || (c.ndim() == 2 && c.dim(0) == 1)))
      return Tensor({out}, std::vector<float>(c.data(), c.data() + out));
    if (c.numel() == 1) return Tensor({out}, c.data()[0]);
    throw Unsupported{std::string(what) + " of shape " + shape_str(c.shape()) + ": only a bias per output (" + std::to_string(out) + ") is supported"};
  }

  static void copy_into(Tensor& dst, const Tensor& src, const char* what) {
    if (dst.numel() != src.numel()) throw Unsupported{std::string(what) + " has " + std::to_string(src.numel()) + " values, expected " + std::to_string(dst.numel())};
    std::copy(src.data(), src.data() + src.numel(), dst.data());
  }

  // A Linear layer: weight (out, in) = alpha · (B as (out, in)), bias = beta · C.
  static void make_linear(nn::Sequential& seq, const Tensor& b, bool b_is_out_in, float alpha, const Tensor& bias, float beta,
                          int64_t in, int64_t out) {
    Rng rng(0);
    auto lin = std::make_unique<nn::Linear>(in, out, bias.numel() > 0, Init::Glorot, rng);
    float* w = lin->weight.value().data();
    for (int64_t o = 0; o < out; ++o)
      for (int64_t k = 0; k < in; ++k) w[o * in + k] = alpha * (b_is_out_in ? b.data()[o * in + k] : b.data()[k * out + o]);
    if (bias.numel() > 0)
      for (int64_t o = 0; o < out; ++o) lin->bias.value().data()[o] = beta * bias.data()[o];
    seq.add(std::move(lin));
  }

  ox::ModelProto& model_;
  std::filesystem::path name_;
  int64_t opset_ = 1;
  std::map<std::string, const ox::TensorProto*> consts_;
  std::map<std::string, const ox::ValueInfoProto*> shapes_;
  std::map<std::string, std::vector<int>> consumers_;
  std::vector<std::string> operators_;
  std::string out_;
};

ox::ModelProto parse(const std::string& bytes, const std::filesystem::path& name) {
  ox::ModelProto model;
  if (!model.ParseFromString(bytes)) throw OnnxError(name, "not an ONNX model (the protobuf does not parse)");
  try {
    ox::checker::check_model(model);
  } catch (const std::exception& e) {
    throw OnnxError(name, std::string("the ONNX checker refuses the model: ") + e.what());
  }
  return model;
}

// True when the network's last module is the activation `a` (a top-level Sequential's last layer).
bool ends_with_activation(nn::Module& m, Act a) {
  auto* seq = dynamic_cast<nn::Sequential*>(&m);
  if (!seq || seq->size() == 0) return false;
  auto* act = dynamic_cast<nn::Activation*>(&(*seq)[seq->size() - 1]);
  return act && act->act() == a;
}

// The same network without its last layer (Sequential has no removal: rebuilt from its config,
// the weights copied over in parameter order).
std::unique_ptr<nn::Module> without_last(nn::Module& m) {
  auto& seq = dynamic_cast<nn::Sequential&>(m);
  nlohmann::json cfg = seq.config();
  cfg["layers"].erase(cfg["layers"].size() - 1);
  Rng rng(0);
  auto copy = nn::module_from_config(cfg, rng);
  auto src_p = seq.parameters();
  auto dst_p = copy->parameters();
  for (size_t i = 0; i < dst_p.size(); ++i) dst_p[i].value() = src_p[i].value().clone();
  auto src_b = seq.buffers();
  auto dst_b = copy->buffers();
  for (size_t i = 0; i < dst_b.size(); ++i) *dst_b[i] = src_b[i]->clone();
  copy->set_training(false);
  return copy;
}

}  // namespace

ImportedGraph import_graph(const std::string& bytes, const std::filesystem::path& name, const std::map<std::string, Tensor>& constants,
                           const std::map<std::string, std::string>& serialized) {
  ox::ModelProto model = parse(bytes, name);
  Importer im(model, name);
  return im.run(constants, serialized);
}

io::ModelFile import_model_bytes(const std::string& bytes, const std::filesystem::path& name, const ImportOptions& o) {
  ox::ModelProto model = parse(bytes, name);
  std::map<std::string, std::string> meta;
  for (const auto& p : model.metadata_props()) meta[p.key()] = p.value();
  io::ModelFile f;
  // Our own export: the standardisation nodes go back into the preprocessing they came from,
  // after checking that they say what it says.
  if (meta.count("backprop.preprocessing")) {
    nlohmann::json pre;
    try {
      pre = nlohmann::json::parse(meta.at("backprop.preprocessing"));
    } catch (const std::exception& e) {
      throw OnnxError(name, std::string("metadata backprop.preprocessing is not JSON: ") + e.what());
    }
    const Standardization st = standardization(pre);
    ox::GraphProto& g = *model.mutable_graph();
    // IsNaN, Where (tables only), Sub, Div: as export_model_bytes writes them.
    const int k = st.impute.empty() ? 0 : 2;
    const char* expect[] = {"backprop.standardize.isnan", "backprop.standardize.where", "backprop.standardize.sub",
                            "backprop.standardize.div"};
    bool ok = g.node_size() >= k + 2;
    for (int i = 0; ok && i < k + 2; ++i) ok = g.node(i).name() == expect[i + 2 - k];
    if (!ok) throw OnnxError(name, "metadata backprop.preprocessing is there, but the graph does not start with its standardisation nodes");
    std::map<std::string, const ox::TensorProto*> inits;
    for (const auto& t : g.initializer()) inits[t.name()] = &t;
    auto values = [&](const std::string& n) {
      if (!inits.count(n)) throw OnnxError(name, "standardisation constant '" + n + "' is missing");
      const Tensor t = to_tensor(*inits.at(n), name);
      return std::vector<float>(t.data(), t.data() + t.numel());
    };
    if (values(g.node(k).input(1)) != st.center || values(g.node(k + 1).input(1)) != st.scale ||
        (k && values(g.node(1).input(1)) != st.impute))
      throw OnnxError(name, "the graph's standardisation (IsNaN/Where/Sub/Div) differs from its metadata backprop.preprocessing");
    const std::string in = g.node(0).input(0), out = g.node(k + 1).output(0);
    g.mutable_node()->DeleteSubrange(0, k + 2);
    for (auto& n : *g.mutable_node())
      for (auto& i : *n.mutable_input())
        if (i == out) i = in;
    f.info.preprocessing = pre;
  }
  Importer im(model, name);
  ImportedGraph g = im.run({});
  std::optional<Task> task = o.task;
  if (!task && meta.count("backprop.task")) {  // the caller's --task wins
    try {
      task = task_from_string(meta.at("backprop.task"));
    } catch (const std::exception& e) {
      throw OnnxError(name, std::string("metadata backprop.task: ") + e.what());
    }
  }
  const bool ends_softmax = ends_with_activation(*g.module, Act::Softmax);
  const bool ends_sigmoid = ends_with_activation(*g.module, Act::Sigmoid);
  // Outputs per example, where shape inference knows them (0: unknown).
  const int64_t outputs = g.output_shape.size() == 1 && g.output_shape[0] > 0 ? g.output_shape[0] : 0;
  if (!task) {
    if (ends_softmax) task = Task::Multiclass;
    else if (ends_sigmoid && outputs == 1) task = Task::Binary;
    else if (outputs == 1) task = Task::Regression;
    else
      throw OnnxError(name, "the graph gives " + (outputs ? std::to_string(outputs) : std::string("an unknown number of")) +
                                " outputs per example without a final Softmax: pass --task multiclass to read them as logits");
  }
  // Our model files hold logits; predict applies the task's Softmax or Sigmoid. A graph that
  // ends in it loses it here; one that does not is read as logits (the task given by the caller).
  if (*task == Task::Multiclass && ends_softmax) g.module = without_last(*g.module);
  if (*task == Task::Binary && ends_sigmoid) g.module = without_last(*g.module);
  if (*task != Task::Multiclass && outputs > 1)
    throw OnnxError(name, "a " + to_string(*task) + " model gives one value per example; this graph gives " + std::to_string(outputs));
  f.info.task = *task;
  if (meta.count("backprop.class_names")) {
    try {
      f.info.class_names = nlohmann::json::parse(meta.at("backprop.class_names")).get<std::vector<std::string>>();
    } catch (const std::exception& e) {
      throw OnnxError(name, std::string("metadata backprop.class_names: ") + e.what());
    }
  }
  if (f.info.class_names.empty() && *task == Task::Binary) f.info.class_names = {"0", "1"};
  if (f.info.class_names.empty() && *task == Task::Multiclass) {
    if (g.output_shape.size() != 1 || g.output_shape[0] <= 0)
      throw OnnxError(name, "the number of classes is unknown: the graph output's shape is not (batch, classes)");
    for (int64_t k = 0; k < g.output_shape[0]; ++k) f.info.class_names.push_back(std::to_string(k));
  }
  f.module = std::move(g.module);
  f.info.extra = {{"imported_from", "onnx"}, {"operators", g.operators}};
  if (!g.input_shape.empty()) f.info.extra["input_shape"] = g.input_shape;
  return f;
}

io::ModelFile import_model(const std::filesystem::path& path, const ImportOptions& o) {
  return import_model_bytes(read_bytes(path), path, o);
}

std::string read_file(const std::filesystem::path& path) { return read_bytes(path); }

GraphSummary summarize(const std::string& bytes, const std::filesystem::path& name) {
  ox::ModelProto model;
  if (!model.ParseFromString(bytes)) throw OnnxError(name, "not an ONNX model (the protobuf does not parse)");
  GraphSummary s;
  for (const auto& n : model.graph().node()) s.operators.push_back(n.op_type());
  for (const auto& i : model.graph().input()) s.inputs.push_back(i.name());
  for (const auto& i : model.graph().initializer()) s.initializers.push_back(i.name());
  return s;
}

Tensor read_tensor_file(const std::filesystem::path& path) {
  ox::TensorProto p;
  if (!p.ParseFromString(read_bytes(path))) throw OnnxError(path, "not a serialized ONNX TensorProto");
  return to_tensor(p, path);
}

}  // namespace bp::onnx
