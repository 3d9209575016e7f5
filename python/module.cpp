// The Python module `backprop` (docs/python.md): training, prediction, model files, the eight
// metrics and calibration, on NumPy arrays. A thin layer over the library's pipeline, nn, train,
// learners, io and eval APIs: every rule (validation, messages, file format) is theirs.
//
// Arrays in: a C-contiguous, aligned float32 matrix is viewed in place (the Tensor borrows the
// array's buffer for the length of the call); anything else (float64, Fortran order, a slice
// with strides, integers) is converted once by NumPy into a float32 C-contiguous copy.
// Arrays out: the Tensor a prediction produced, handed to NumPy whole (a capsule owns it), so
// no copy is made; its base object is that capsule.
// The GIL is released around training and prediction; a Model serialises its own predictions.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "backprop/backend/backend.hpp"
#include "backprop/data/error.hpp"
#include "backprop/eval/calibration.hpp"
#include "backprop/eval/metrics.hpp"
#include "backprop/eval/multiclass.hpp"
#include "backprop/io/model_file.hpp"
#include "backprop/learners/learner.hpp"
#include "backprop/nn/module.hpp"
#include "backprop/nn/zoo.hpp"
#include "backprop/pipeline/arrays.hpp"
#include "backprop/pipeline/errors.hpp"
#include "backprop/pipeline/model.hpp"
#include "backprop/pipeline/outputs.hpp"
#include "backprop/pipeline/training.hpp"
#include "backprop/util/atomic_file.hpp"

namespace py = pybind11;
using namespace bp;

namespace {

// ---- arrays ----------------------------------------------------------------------------

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

// A float32 matrix as a Tensor: a view of `obj`'s buffer when it is already float32, C-contiguous
// and aligned; otherwise NumPy's one conversion, kept alive in `keep`. The view's owner frees
// nothing: the caller holds `obj` for as long as the Tensor lives (one call).
struct Matrix {
  Tensor t;
  py::object keep;
  bool copied = false;
};

Matrix as_matrix(const py::handle& obj, const char* what, int want_ndim = 2) {
  Matrix m;
  py::array in;
  if (py::isinstance<py::array>(obj)) {
    in = py::reinterpret_borrow<py::array>(obj);
  } else {
    in = py::array::ensure(obj);
    if (!in) throw pipeline::UsageError(std::string(what) + " must be an array of numbers");
    m.copied = true;  // a list or other sequence: NumPy built a new array
  }
  if (in.dtype().kind() != 'f' && in.dtype().kind() != 'i' && in.dtype().kind() != 'u' && in.dtype().kind() != 'b')
    throw pipeline::UsageError(std::string(what) + " must hold numbers, not dtype " +
                               py::str(in.dtype()).cast<std::string>());
  const bool view = py::isinstance<py::array_t<float>>(in) && (in.flags() & py::array::c_style) &&
                    (in.flags() & 0x0100 /* NPY_ARRAY_ALIGNED */);
  FloatArray a = view ? py::reinterpret_borrow<FloatArray>(in) : FloatArray::ensure(in);
  if (!a) throw pipeline::UsageError(std::string(what) + " cannot be converted to float32");
  m.copied = m.copied || !view;
  if (a.ndim() != want_ndim)
    throw pipeline::UsageError(std::string(what) + " must be " + (want_ndim == 2 ? "a 2-D array (rows, features)" : "a 1-D array") +
                               ", not " + std::to_string(a.ndim()) + "-D" +
                               (want_ndim == 2 && a.ndim() == 1 ? " (one row: X.reshape(1, -1))" : ""));
  Shape shape;
  for (py::ssize_t i = 0; i < a.ndim(); ++i) shape.push_back(static_cast<int64_t>(a.shape(i)));
  auto* p = const_cast<float*>(a.data());
  m.t = Tensor::view(std::shared_ptr<float[]>(p, [](float*) {}), p, shape);
  m.keep = a;
  return m;
}

// A 1-D array of numbers as doubles (metrics, calibration, targets).
std::vector<double> as_doubles(const py::handle& obj, const char* what) {
  auto a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(obj);
  if (!a) throw pipeline::UsageError(std::string(what) + " must be an array of numbers");
  if (a.ndim() == 2 && a.shape(1) == 1) a = a.reshape({a.shape(0)});
  if (a.ndim() != 1) throw pipeline::UsageError(std::string(what) + " must be a 1-D array, not " + std::to_string(a.ndim()) + "-D");
  return {a.data(), a.data() + a.size()};
}

// 0/1 (or class) labels: integral values, as ints.
std::vector<int> as_labels(const py::handle& obj, const char* what) {
  const std::vector<double> v = as_doubles(obj, what);
  std::vector<int> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i]) || v[i] != std::floor(v[i]) || std::fabs(v[i]) > 1e9)
      throw pipeline::UsageError(std::string(what) + "[" + std::to_string(i) + "] = " + std::to_string(v[i]) +
                                 ": labels must be integers");
    out[i] = static_cast<int>(v[i]);
  }
  return out;
}

// The Tensor handed to NumPy whole: the capsule owns it (and so its buffer), no copy.
py::array to_numpy(Tensor t, const Shape& shape) {
  if (shape_numel(shape) != t.numel()) throw std::logic_error("to_numpy: shape does not fit the tensor");
  auto* holder = new Tensor(std::move(t));
  py::capsule owner(holder, [](void* p) { delete static_cast<Tensor*>(p); });
  std::vector<py::ssize_t> dims(shape.begin(), shape.end()), strides(shape.size());
  py::ssize_t s = sizeof(float);
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= dims[i];
  }
  return py::array_t<float>(dims, strides, holder->data(), owner);
}

py::array doubles_to_numpy(const std::vector<double>& v) {
  py::array_t<double> a(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

py::object json_to_python(const nlohmann::json& j) {
  return py::module_::import("json").attr("loads")(j.dump());
}

// Keyword options as JSON (through Python's json, so NumPy scalars and tuples must be plain).
nlohmann::json json_from_python(const py::handle& obj) {
  std::string text;
  try {
    text = py::module_::import("json").attr("dumps")(obj).cast<std::string>();
  } catch (const py::error_already_set& e) {
    throw pipeline::UsageError(std::string("options must be plain numbers, strings and lists: ") + e.what());
  }
  return nlohmann::json::parse(text);
}

// ---- models ----------------------------------------------------------------------------

class Model {
 public:
  Model(io::ModelFile f) : file_(std::move(f)), input_(file_.info.preprocessing) {  // NOLINT
    if (!file_.info.calibrator.is_null()) calibrator_ = eval::calibrator_from_json(file_.info.calibrator);
  }

  // Binary: (n,) P(positive); multi-class: (n, K); regression: (n,) values. The model file's
  // calibrator (binary) applied, as `backprop predict` does.
  py::array outputs(const py::handle& x, bool encoded) {
    // float64 rows of a model that standardises its columns: transformed from the doubles
    // (as `backprop predict` from a CSV's text), so that no value is rounded twice.
    py::array_t<double, py::array::c_style | py::array::forcecast> doubles;
    bool from_doubles = false;
    Matrix m;
    if (!encoded && !input_.identity() && py::isinstance<py::array>(x) &&
        py::reinterpret_borrow<py::array>(x).dtype().kind() == 'f' &&
        py::reinterpret_borrow<py::array>(x).itemsize() == 8) {
      doubles = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(x);
      from_doubles = doubles && doubles.ndim() == 2;
      if (!from_doubles) m = as_matrix(x, "X");  // its shape error
    } else {
      m = as_matrix(x, "X");
    }
    Tensor p;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mutex_);
      const Tensor in = from_doubles ? input_.encode(std::span<const double>(doubles.data(), static_cast<size_t>(doubles.size())),
                                                static_cast<int64_t>(doubles.shape(0)), encoded)
                                : input_.encode(m.t, encoded);
      p = pipeline::ModelRef(file_).predict(file_.info.task, in);
      if (calibrator_)
        for (int64_t i = 0; i < p.numel(); ++i) p[i] = static_cast<float>(calibrator_->apply(p[i]));
    }
    const int64_t n = p.dim(0);
    if (file_.info.task == Task::Multiclass) return to_numpy(std::move(p), {n, p.dim(1)});
    return to_numpy(std::move(p), {n});
  }

  py::array predict_proba(const py::handle& x, bool encoded) {
    if (file_.info.task == Task::Regression)
      throw pipeline::UsageError("a regression model has no class probabilities: use predict()");
    return outputs(x, encoded);
  }

  // Classification: class indices (n,) int64 (class_names[i] names them); regression: values.
  py::array predict(const py::handle& x, bool encoded) {
    py::array out = outputs(x, encoded);
    if (file_.info.task == Task::Regression) return out;
    auto p = py::reinterpret_borrow<py::array_t<float>>(out);
    const py::ssize_t n = p.shape(0);
    py::array_t<int64_t> labels(n);
    int64_t* l = labels.mutable_data();
    if (file_.info.task == Task::Binary) {
      for (py::ssize_t i = 0; i < n; ++i) l[i] = p.data()[i] >= 0.5f ? 1 : 0;
    } else {
      const py::ssize_t k = p.shape(1);
      for (py::ssize_t i = 0; i < n; ++i) {
        const float* row = p.data() + i * k;
        l[i] = std::max_element(row, row + k) - row;
      }
    }
    return labels;
  }

  void save(const std::string& path) {
    // An unwritable place is an OSError before anything is written (the command's rule).
    pipeline::check_outputs({}, {{"path", path}});
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mutex_);
    io::save_model(path, file_);
  }

  // A learner's kind; a network's model name as its training recorded it ("mlp", "lenet5"),
  // else its outer module's type.
  std::string kind() const {
    if (file_.learner) return file_.learner->kind();
    const nlohmann::json& e = file_.info.extra;
    if (e.is_object() && e.contains("training") && e["training"].is_object() && e["training"].contains("model") &&
        e["training"]["model"].is_string())
      return e["training"]["model"].get<std::string>();
    return file_.module->config().value("type", std::string("network"));
  }
  std::string task() const { return to_string(file_.info.task); }
  const std::vector<std::string>& class_names() const { return file_.info.class_names; }
  const std::vector<std::string>& feature_names() const { return input_.names(); }
  int64_t num_features() const { return input_.features(); }
  py::object info() const {
    py::dict d;
    d["task"] = task();
    d["kind"] = kind();
    d["class_names"] = class_names();
    d["preprocessing"] = json_to_python(file_.info.preprocessing);
    d["calibrator"] = json_to_python(file_.info.calibrator);
    d["extra"] = json_to_python(file_.info.extra);
    d["format_version"] = file_.format_version;
    d["library_version"] = file_.library_version;
    return d;
  }
  std::string repr() const {
    std::ostringstream s;
    s << "<backprop.Model " << kind() << ", " << task();
    if (!class_names().empty()) s << ", " << class_names().size() << " classes";
    if (!input_.names().empty()) s << ", " << input_.names().size() << " inputs";
    s << ">";
    return s.str();
  }

 private:
  io::ModelFile file_;
  pipeline::ArrayInput input_;
  std::unique_ptr<eval::Calibrator> calibrator_;
  std::mutex mutex_;
};

std::unique_ptr<Model> load(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    PyErr_SetString(PyExc_FileNotFoundError, ("no such model file: " + path).c_str());
    throw py::error_already_set();
  }
  io::ModelFile f;
  {
    py::gil_scoped_release release;
    f = io::load_model(path);
  }
  return std::make_unique<Model>(std::move(f));
}

// The task from the labels when none is given: integers with two values 0/1 → binary, other
// integers → multi-class, anything else → regression.
Task infer_task(const std::vector<double>& y) {
  double top = 0;
  for (double v : y) {
    if (!std::isfinite(v) || v != std::floor(v) || v < 0) return Task::Regression;
    top = std::max(top, v);
  }
  return top <= 1 ? Task::Binary : Task::Multiclass;
}

template <class T>
T take(py::dict& kw, const char* key, T fallback) {
  if (!kw.contains(key)) return fallback;
  T v;
  try {
    v = kw[key].cast<T>();
  } catch (const py::cast_error&) {
    throw pipeline::UsageError(std::string("option ") + key + ": cannot take " + py::repr(kw[key]).cast<std::string>());
  }
  PyDict_DelItemString(kw.ptr(), key);
  return v;
}

std::unique_ptr<Model> fit(const py::handle& x, const py::handle& y, const std::string& model, const py::object& task_arg,
          py::kwargs kwargs) {
  py::dict kw = kwargs ? py::dict(kwargs) : py::dict();
  Matrix m = as_matrix(x, "X");
  const std::vector<double> ys = as_doubles(y, "y");
  const Task task = task_arg.is_none() ? infer_task(ys) : [&] {
    try {
      return task_from_string(task_arg.cast<std::string>());
    } catch (const std::invalid_argument& e) {
      throw pipeline::UsageError(std::string("task: ") + e.what());
    }
  }();
  auto feature_names = take<std::vector<std::string>>(kw, "feature_names", {});
  auto class_names = take<std::vector<std::string>>(kw, "class_names", {});

  pipeline::TrainSpec spec;
  spec.model.name = model;
  const auto seed = take<uint64_t>(kw, "seed", 1);
  spec.model.seed = seed;
  spec.fit.seed = seed;
  const bool learner = pipeline::is_learner_kind(model);
  if (learner) {
    // Every remaining keyword is the learner's option (make_learner refuses unknown ones by name).
    spec.learner_options = json_from_python(kw);
  } else {
    spec.model.hidden = take<std::vector<int64_t>>(kw, "hidden", spec.model.hidden);
    if (kw.contains("activation")) {
      try {
        spec.model.activations = {nn::act_from_string(take<std::string>(kw, "activation", "relu"))};
      } catch (const std::invalid_argument& e) {
        throw pipeline::UsageError(std::string("activation: ") + e.what());
      }
    }
    spec.optimizer.name = take<std::string>(kw, "optimizer", spec.optimizer.name);
    spec.optimizer.lr = take<float>(kw, "lr", spec.optimizer.lr);
    spec.optimizer.momentum = take<float>(kw, "momentum", spec.optimizer.momentum);
    spec.optimizer.weight_decay = take<float>(kw, "weight_decay", spec.optimizer.weight_decay);
    spec.fit.epochs = take<int>(kw, "epochs", pipeline::kAutoEpochs);
    if (spec.fit.epochs < 0) throw pipeline::UsageError("epochs must be positive (0: chosen from the data's size)");
    spec.fit.batch_size = take<int64_t>(kw, "batch_size", spec.fit.batch_size);
    if (spec.fit.batch_size < 0) throw pipeline::UsageError("batch_size must be >= 0 (0: full batch)");
    spec.fit.schedule = take<std::string>(kw, "schedule", spec.fit.schedule);
    spec.fit.patience = take<int>(kw, "patience", 0);
    spec.validation_fraction = take<double>(kw, "validation", 0.0);
    if (!(spec.validation_fraction >= 0 && spec.validation_fraction < 1))
      throw pipeline::UsageError("validation must be in [0, 1)");
    try {
      spec.fit.loss = train::loss_from_string(take<std::string>(kw, "loss", "auto"));
    } catch (const std::invalid_argument& e) {
      throw pipeline::UsageError(std::string("loss: ") + e.what());
    }
    if (!kw.empty()) {
      std::string names;
      for (auto item : kw) {
        if (!names.empty()) names += ", ";
        names += item.first.cast<std::string>();
      }
      throw pipeline::UsageError("unknown option " + names + " for the network '" + model +
                                 "' (known: hidden, activation, optimizer, lr, momentum, weight_decay, epochs, "
                                 "batch_size, schedule, patience, validation, loss, seed, feature_names, class_names)");
    }
  }
  const data::Dataset d = pipeline::dataset_from_arrays(m.t, task, ys, feature_names, class_names);
  io::ModelFile f;
  {
    py::gil_scoped_release release;
    pipeline::Trained t = pipeline::train_model(spec, d, {d.num_features()});
    f.info = pipeline::array_model_info(t, d, spec);
    f.module = std::move(t.model);
    f.learner = std::move(t.learner);
    if (f.module) f.module->set_training(false);
  }
  return std::make_unique<Model>(std::move(f));
}

// ---- metrics and calibration -------------------------------------------------------------

py::dict binary_metrics(const py::handle& y, const py::handle& p, double threshold, double lift_fraction) {
  const std::vector<int> labels = as_labels(y, "y");
  const std::vector<double> scores = as_doubles(p, "p");
  eval::BinaryMetricOptions o;
  o.threshold = threshold;
  o.lift_fraction = lift_fraction;
  const eval::BinaryMetrics r = eval::binary_metrics(scores, labels, o);
  py::dict d;
  for (eval::Metric k : eval::kAllMetrics) d[eval::metric_name(k)] = r.get(k);
  return d;
}

py::dict multiclass_metrics(const py::handle& y, const py::handle& probabilities) {
  const std::vector<int> labels = as_labels(y, "y");
  Matrix m = as_matrix(probabilities, "P");
  const int k = static_cast<int>(m.t.dim(1));
  const std::vector<double> p(m.t.data(), m.t.data() + m.t.numel());
  const std::vector<int> predicted = eval::argmax_rows(p, k);
  py::dict d;
  d["accuracy"] = eval::multiclass_accuracy(labels, predicted);
  d["log_loss"] = eval::log_loss(labels, p, k);
  d["macro_f1"] = eval::macro_f1(labels, predicted, k);
  d["roc_auc_ovr"] = doubles_to_numpy(eval::one_vs_rest_auc(labels, p, k));
  d["confusion_matrix"] = eval::confusion_matrix(labels, predicted, k);
  return d;
}

py::dict regression_metrics(const py::handle& y, const py::handle& yhat) {
  const std::vector<double> t = as_doubles(y, "y"), p = as_doubles(yhat, "y_pred");
  py::dict d;
  d["rmse"] = eval::rmse(t, p);
  d["mae"] = eval::mae(t, p);
  d["r2"] = eval::r2_score(t, p);
  return d;
}

py::array calibrate(const eval::Calibrator& c, const py::handle& scores) {
  if (!c.fitted()) throw pipeline::UsageError("the calibrator is not fitted: call fit(scores, labels) first");
  return doubles_to_numpy(c.apply(as_doubles(scores, "scores")));
}

eval::IsotonicPrediction isotonic_mode(const std::string& s) {
  if (s == "interpolate") return eval::IsotonicPrediction::Interpolate;
  if (s == "step") return eval::IsotonicPrediction::Step;
  throw pipeline::UsageError("mode '" + s + "': known modes are interpolate, step");
}

// ---- errors ------------------------------------------------------------------------------

// Bad input of every kind is a ValueError with the library's message; an unwritable file an
// OSError; a diverged fit backprop.DivergenceError (a RuntimeError).
PyObject* divergence_error = nullptr;

void translate(std::exception_ptr p) {
  try {
    if (p) std::rethrow_exception(p);
  } catch (const train::DivergenceError& e) {
    PyErr_SetString(divergence_error, e.what());
  } catch (const util::FileWriteError& e) {
    PyErr_SetString(PyExc_OSError, e.what());
  } catch (const std::invalid_argument& e) {  // UsageError, ShapeError, the metrics' checks
    PyErr_SetString(PyExc_ValueError, e.what());
  } catch (const data::DataError& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
  } catch (const learners::LearnerError& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
  } catch (const io::ModelFileError& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
  }
}

}  // namespace

PYBIND11_MODULE(backprop, m) {
  m.doc() = "backprop: neural networks and the classic learners, with evaluation built in (docs/python.md)";
  m.attr("__version__") = io::kLibraryVersion;
  divergence_error = PyErr_NewException("backprop.DivergenceError", PyExc_RuntimeError, nullptr);
  m.attr("DivergenceError") = py::handle(divergence_error);
  py::register_exception_translator(&translate);

  py::class_<Model>(m, "Model", "A trained model: a network or a tree learner, with its model-file metadata.")
      .def("predict_proba", &Model::predict_proba, py::arg("X"), py::arg("encoded") = false,
           "Class probabilities: binary (n,) P(class 1); multi-class (n, K). Zero-copy output.")
      .def("predict", &Model::predict, py::arg("X"), py::arg("encoded") = false,
           "Classification: class indices (n,) int64; regression: values (n,) float32.")
      .def("save", &Model::save, py::arg("path"), "Writes the model file (atomically), as `backprop train -o` does.")
      .def_property_readonly("kind", &Model::kind)
      .def_property_readonly("task", &Model::task)
      .def_property_readonly("class_names", &Model::class_names)
      .def_property_readonly("feature_names", &Model::feature_names)
      .def_property_readonly("num_features", &Model::num_features)
      .def_property_readonly("info", &Model::info)
      .def("__repr__", &Model::repr);

  m.def("fit", &fit, py::arg("X"), py::arg("y"), py::arg("model") = "mlp", py::arg("task") = py::none(),
        "Trains a model on X (n, d) and y (n): a network (mlp, ...) or a tree learner (random-forest, ...);\n"
        "keyword options as in docs/python.md. Returns a Model.");
  m.def("load", &load, py::arg("path"), "Reads a model file (one `backprop train` wrote, or Model.save).");
  m.def("model_names", [] {
    std::vector<std::string> n = nn::model_names();
    for (const auto& k : learners::learner_kinds()) n.push_back(k);
    return n;
  });
  m.def("learner_options", [](const std::string& kind) {
    try {
      return json_to_python(learners::default_options(kind));
    } catch (const learners::LearnerError& e) {
      throw pipeline::UsageError(e.what());
    }
  }, py::arg("kind"), "A tree learner's options with their defaults.");
  m.def("set_num_threads", &backend::set_num_threads, py::arg("n"));
  m.def("num_threads", &backend::num_threads);

  m.def("metrics", &binary_metrics, py::arg("y"), py::arg("p"), py::arg("threshold") = 0.5,
        py::arg("lift_fraction") = 0.25,
        "The eight metrics of Caruana & Niculescu-Mizil (ACC FSC LFT ROC APR BEP RMS MXE) as a dict.");
  m.def("multiclass_metrics", &multiclass_metrics, py::arg("y"), py::arg("P"),
        "accuracy, log_loss (nats), macro_f1, roc_auc_ovr (per class), confusion_matrix.");
  m.def("regression_metrics", &regression_metrics, py::arg("y"), py::arg("y_pred"), "rmse, mae, r2.");

  py::class_<eval::PlattScaler>(m, "Platt", "Platt scaling: P(y=1|f) = 1 / (1 + exp(A f + B)).")
      .def(py::init<>())
      .def("fit",
           [](eval::PlattScaler& c, const py::handle& s, const py::handle& y) -> eval::PlattScaler& {
             c.fit(as_doubles(s, "scores"), as_labels(y, "labels"));
             return c;
           },
           py::arg("scores"), py::arg("labels"), py::return_value_policy::reference_internal)
      .def("predict", [](const eval::PlattScaler& c, const py::handle& s) { return calibrate(c, s); }, py::arg("scores"))
      .def_property_readonly("a", &eval::PlattScaler::a)
      .def_property_readonly("b", &eval::PlattScaler::b)
      .def_property_readonly("fitted", &eval::PlattScaler::fitted)
      .def("to_json", [](const eval::PlattScaler& c) { return json_to_python(c.to_json()); });
  py::class_<eval::IsotonicCalibrator>(m, "Isotonic", "Isotonic regression (pool-adjacent-violators).")
      .def(py::init([](const std::string& mode) { return eval::IsotonicCalibrator(isotonic_mode(mode)); }),
           py::arg("mode") = "interpolate")
      .def("fit",
           [](eval::IsotonicCalibrator& c, const py::handle& s, const py::handle& y) -> eval::IsotonicCalibrator& {
             c.fit(as_doubles(s, "scores"), as_labels(y, "labels"));
             return c;
           },
           py::arg("scores"), py::arg("labels"), py::return_value_policy::reference_internal)
      .def("predict", [](const eval::IsotonicCalibrator& c, const py::handle& s) { return calibrate(c, s); },
           py::arg("scores"))
      .def_property_readonly("xs", [](const eval::IsotonicCalibrator& c) { return doubles_to_numpy(c.xs()); })
      .def_property_readonly("ys", [](const eval::IsotonicCalibrator& c) { return doubles_to_numpy(c.ys()); })
      .def_property_readonly("fitted", &eval::IsotonicCalibrator::fitted)
      .def("to_json", [](const eval::IsotonicCalibrator& c) { return json_to_python(c.to_json()); });
  m.def("platt", [](const py::handle& s, const py::handle& y) {
    eval::PlattScaler c;
    c.fit(as_doubles(s, "scores"), as_labels(y, "labels"));
    return c;
  }, py::arg("scores"), py::arg("labels"), "A Platt scaler fitted on (scores, 0/1 labels).");
  m.def("isotonic", [](const py::handle& s, const py::handle& y, const std::string& mode) {
    eval::IsotonicCalibrator c(isotonic_mode(mode));
    c.fit(as_doubles(s, "scores"), as_labels(y, "labels"));
    return c;
  }, py::arg("scores"), py::arg("labels"), py::arg("mode") = "interpolate",
     "An isotonic calibrator fitted on (scores, 0/1 labels).");

  // For the tests of the zero-copy rule: whether the Tensor built from X borrows X's buffer.
  m.def("_borrows", [](const py::handle& x) {
    Matrix mt = as_matrix(x, "X");
    if (!py::isinstance<py::array>(x)) return false;
    return !mt.copied && static_cast<const void*>(mt.t.data()) == py::reinterpret_borrow<py::array>(x).data();
  });
}
