package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"
)

const (
	opMsg          = 2013
	flagMoreToCome = 1 << 1
	maxMessageSize = 48 << 20
)

// writeCommands are the commands that change documents; one of them runs at a
// time across all connections, which makes FerretDB's read-modify-write
// updates behave like MongoDB's atomic single-document updates.
var writeCommands = map[string]bool{
	"insert": true, "update": true, "delete": true, "findAndModify": true,
	"findandmodify": true, "createIndexes": true, "dropIndexes": true,
	"drop": true, "dropDatabase": true, "create": true, "renameCollection": true,
}

var writeLock sync.Mutex

func serveProxy(ctx context.Context, addr, backend string, keeper *ginKeeper, logger *slog.Logger) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	go func() { <-ctx.Done(); ln.Close() }()

	// FerretDB creates its socket shortly after start; wait for it.
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(backend); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	for {
		client, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if tcp, ok := client.(*net.TCPConn); ok {
			tcp.SetNoDelay(true)
		}
		go func() {
			if err := proxyConn(client, backend, keeper); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				logger.Debug("proxy connection closed", "error", err)
			}
		}()
	}
}

// readMessage reads one length-prefixed wire-protocol message.
func readMessage(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(int32(binary.LittleEndian.Uint32(hdr[:])))
	if n < 16 || n > maxMessageSize {
		return nil, fmt.Errorf("bad message length %d", n)
	}
	msg := make([]byte, n)
	copy(msg, hdr[:])
	if _, err := io.ReadFull(r, msg[4:]); err != nil {
		return nil, err
	}
	return msg, nil
}

// commandName returns the first key of an OP_MSG body (section kind 0), which
// names the command, and whether the sender expects no reply.
func commandName(msg []byte) (name string, noReply bool) {
	if len(msg) < 21 || binary.LittleEndian.Uint32(msg[12:16]) != opMsg {
		return "", false
	}
	flags := binary.LittleEndian.Uint32(msg[16:20])
	noReply = flags&flagMoreToCome != 0
	// Sections: kind 1 (document sequences) may precede kind 0.
	for p := 20; p < len(msg); {
		kind := msg[p]
		p++
		if kind == 1 {
			if p+4 > len(msg) {
				return "", noReply
			}
			p += int(int32(binary.LittleEndian.Uint32(msg[p : p+4])))
			continue
		}
		// kind 0: a BSON document: int32 length, then elements (type, cstring name, ...).
		if p+5 > len(msg) {
			return "", noReply
		}
		start := p + 5
		end := start
		for end < len(msg) && msg[end] != 0 {
			end++
		}
		return string(msg[start:end]), noReply
	}
	return "", noReply
}

func proxyConn(client net.Conn, backendPath string, keeper *ginKeeper) error {
	defer client.Close()
	backend, err := net.Dial("unix", backendPath)
	if err != nil {
		return err
	}
	defer backend.Close()

	var mu sync.Mutex
	waiting := map[uint32]chan struct{}{}

	// Replies flow back on their own; a waiting write is told when its reply passed.
	go func() {
		defer client.Close()
		for {
			reply, err := readMessage(backend)
			if err != nil {
				return
			}
			if _, err := client.Write(reply); err != nil {
				return
			}
			responseTo := binary.LittleEndian.Uint32(reply[8:12])
			mu.Lock()
			if ch, ok := waiting[responseTo]; ok {
				delete(waiting, responseTo)
				close(ch)
			}
			mu.Unlock()
		}
	}()

	for {
		msg, err := readMessage(client)
		if err != nil {
			return err
		}
		name, noReply := commandName(msg)
		if !writeCommands[name] {
			if _, err := backend.Write(msg); err != nil {
				return err
			}
			continue
		}
		requestID := binary.LittleEndian.Uint32(msg[4:8])
		done := make(chan struct{})
		if !noReply {
			mu.Lock()
			waiting[requestID] = done
			mu.Unlock()
		}
		writeLock.Lock()
		_, err = backend.Write(msg)
		if err == nil && !noReply {
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				err = errors.New("no reply to write command")
			}
		}
		if err == nil && keeper != nil && (name == "createIndexes" || name == "create") {
			// before the next write: a collection's GIN indexes exist once its indexes were declared
			keeper.sync(context.Background())
		}
		writeLock.Unlock()
		if err != nil {
			return err
		}
	}
}
