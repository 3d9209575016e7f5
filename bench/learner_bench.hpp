// What bench_trees and bench_learners share: the two clocks they report and the prepared matrix
// both sides of their comparisons read (bench/peer_trees.py prepare).
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_clock.hpp"

namespace bench {

// Process CPU seconds (steadier than wall time on a loaded machine) and wall seconds.
inline double cpu() { return cpu_seconds(); }
inline double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// The file: int64 training rows, test rows, features; then the training matrix (float32, row
// major), its labels (int32), the test matrix and its labels.
struct Prepared {
  int64_t ntr = 0, nte = 0, d = 0;
  std::vector<float> Xtr, Xte;
  std::vector<int32_t> ytr, yte;
};

inline Prepared read_prepared(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  int64_t hdr[3];
  if (!in.read(reinterpret_cast<char*>(hdr), sizeof hdr)) throw std::runtime_error("cannot read " + path);
  Prepared p;
  p.ntr = hdr[0];
  p.nte = hdr[1];
  p.d = hdr[2];
  p.Xtr.resize(p.ntr * p.d);
  p.Xte.resize(p.nte * p.d);
  p.ytr.resize(p.ntr);
  p.yte.resize(p.nte);
  in.read(reinterpret_cast<char*>(p.Xtr.data()), p.Xtr.size() * 4);
  in.read(reinterpret_cast<char*>(p.ytr.data()), p.ytr.size() * 4);
  in.read(reinterpret_cast<char*>(p.Xte.data()), p.Xte.size() * 4);
  in.read(reinterpret_cast<char*>(p.yte.data()), p.yte.size() * 4);
  if (!in) throw std::runtime_error(path + " is truncated");
  return p;
}

}  // namespace bench
