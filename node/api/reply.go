package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
)

// maxBody bounds a JSON request body (a backup's stdin stream follows its
// JSON line and is not bounded).
const maxBody = 1 << 20

// get is a route that answers call(ctx) to a GET.
func get[T any](call func(context.Context) (T, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := call(r.Context())
		reply(w, v, err)
	}
}

// post is a route that decodes a Req from the body (an empty body is the
// zero Req), checks it, and answers call(ctx(r), req).
func post[Req, Resp any](ctx func(*http.Request) context.Context, check func(*Req) error,
	call func(context.Context, Req) (Resp, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req Req
		if err := decodeBody(w, r, &req); err != nil {
			writeError(w, err)
			return
		}
		if check != nil {
			if err := check(&req); err != nil {
				writeError(w, err)
				return
			}
		}
		v, err := call(ctx(r), req)
		reply(w, v, err)
	}
}

// requestCtx is the ctx of operations that end with their request.
func requestCtx(r *http.Request) context.Context { return r.Context() }

func reply[T any](w http.ResponseWriter, v T, err error) {
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// writeJSON writes v with nil slices as [] (scripts get a list, never null).
func writeJSON(w http.ResponseWriter, status int, v any) {
	rv := reflect.New(reflect.TypeOf(v)).Elem()
	rv.Set(reflect.ValueOf(v))
	fillNil(rv)
	b, err := json.Marshal(rv.Interface())
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeError writes err as {"error", "code"} with its status.
func writeError(w http.ResponseWriter, err error) {
	e := toError(err)
	b, _ := json.Marshal(e)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	w.Write(append(b, '\n'))
}

// fillNil sets the nil slices in v (addressable) to empty ones.
func fillNil(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			fillNil(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fillNil(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.IsNil() {
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		}
		for i := range v.Len() {
			fillNil(v.Index(i))
		}
	}
}

// decodeBody decodes one JSON value of at most maxBody bytes into v,
// strictly: an unknown key is an error (a newer client's option must not
// be ignored by an older node). An empty body leaves v as it is.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, maxBody)
	b, err := io.ReadAll(body)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return &Error{Status: http.StatusRequestEntityTooLarge, Code: "bad-request", Message: "request body too large"}
		}
		return errorf("bad-request", "reading the request: "+err.Error())
	}
	return decodeJSON(b, v)
}

func decodeJSON(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if e := toError(err); e.Code == "bad-request" { // a recovery key's typo, say
			return e
		}
		return errorf("bad-request", "bad request body: "+err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return errorf("bad-request", "bad request body: more than one JSON value")
	}
	return nil
}
