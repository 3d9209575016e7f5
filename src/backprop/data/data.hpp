// The data module in one include: readers (CSV, IDX, Fashion-MNIST), the Preprocessor that
// turns a table or images into numbers, Dataset, splits / mini-batches, and the sources
// (prepare, load_with) that put them together. See docs/data.md.
#pragma once

#include "backprop/data/csv.hpp"
#include "backprop/data/dataset.hpp"
#include "backprop/data/error.hpp"
#include "backprop/data/idx.hpp"
#include "backprop/data/number.hpp"
#include "backprop/data/preprocess.hpp"
#include "backprop/data/source.hpp"
#include "backprop/data/split.hpp"
