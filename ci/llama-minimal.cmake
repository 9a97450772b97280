# Included into llama.cpp's CMake project when llama-cpp-python is built from source
# (CMAKE_PROJECT_llama.cpp_INCLUDE). Skipping llama.cpp's "common" library, its tools
# and examples cuts the build from ~18 to ~4 minutes on 2 cores; the Python binding only
# needs libllama and ggml.
set(LLAMA_BUILD_COMMON OFF)
