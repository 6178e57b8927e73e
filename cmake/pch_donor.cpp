// Donor translation unit for the shared precompiled header (cmake/actatlasPch.cmake).
