#include <mpi.h>

#include <cstdlib>
#include <stdexcept>

#include "backprop/dist/dist.hpp"

namespace bp::dist {

bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

Session::Session() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) throw std::logic_error("dist::Session: MPI is already initialised in this process");
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  // The library's traffic on a communicator of its own, so a program's own messages on
  // MPI_COMM_WORLD never match ours. Errors stay fatal (the default), inherited by the dup.
  auto* c = new MPI_Comm;
  MPI_Comm_dup(MPI_COMM_WORLD, c);
  MPI_Comm_set_errhandler(*c, MPI_ERRORS_ARE_FATAL);
  comm_ = c;
  MPI_Comm_rank(*c, &rank_);
  MPI_Comm_size(*c, &size_);
}

Session::~Session() {
  auto* c = static_cast<MPI_Comm*>(comm_);
  MPI_Comm_free(c);
  delete c;
  MPI_Finalize();
}

void Session::abort(int code) const {
  if (size_ > 1) MPI_Abort(*static_cast<MPI_Comm*>(comm_), code);
}

}  // namespace bp::dist
