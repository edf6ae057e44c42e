package brazeemu

import (
	"net/http"
)

// adminPrefix roots the emulator's own endpoints (see the package comment).
const adminPrefix = "/_emulator/"

func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	method, serve := s.adminRoute(r.URL.Path)
	switch {
	case serve == nil:
		writeJSON(w, http.StatusNotFound, messageBody{"Not Found"})
	case r.Method != method:
		w.Header().Set("Allow", method)
		writeJSON(w, http.StatusMethodNotAllowed, messageBody{"Method Not Allowed"})
	default:
		writeJSON(w, http.StatusOK, serve())
	}
}

func (s *Server) adminRoute(path string) (string, func() any) {
	switch path {
	case adminPrefix + "requests":
		return http.MethodGet, func() any { return map[string]any{"requests": s.Requests()} }
	case adminPrefix + "profiles":
		return http.MethodGet, func() any { return map[string]any{"profiles": s.Profiles()} }
	case adminPrefix + "events":
		return http.MethodGet, func() any { return map[string]any{"events": s.Events()} }
	case adminPrefix + "reset":
		return http.MethodPost, func() any {
			s.Reset()
			return messageBody{"reset"}
		}
	}
	return "", nil
}
