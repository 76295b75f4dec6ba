// Package trunktest makes throwaway TLS material for tests of the trunk's TLS mode: a private CA
// and a certificate for 127.0.0.1 signed by it, written as PEM files the way an operator would
// pass them to -trunk-cert, -trunk-key and -trunk-ca.
package trunktest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Files are PEM files in a test's temporary directory.
type Files struct {
	Cert, Key             string // the origin's certificate (IP SAN 127.0.0.1, ::1) and its key
	CA                    string // the CA that signed both certificates, for -trunk-ca and -trunk-client-ca
	ClientCert, ClientKey string // an edge's client certificate and its key
}

// TLSFiles generates a fresh CA, a loopback server certificate and an edge's client certificate
// (ECDSA P-256, valid one hour).
func TLSFiles(t testing.TB) Files {
	t.Helper()
	caKey, caDER := newCert(t, nil, nil, &x509.Certificate{
		Subject: pkix.Name{CommonName: "fmsgo test CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	})
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, der := newCert(t, ca, caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "fmsgo test origin"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	dir := t.TempDir()
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	ckey, cder := newCert(t, ca, caKey, &x509.Certificate{
		Subject:  pkix.Name{CommonName: "fmsgo test edge"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	ckeyDER, err := x509.MarshalECPrivateKey(ckey)
	if err != nil {
		t.Fatal(err)
	}
	f := Files{Cert: filepath.Join(dir, "cert.pem"), Key: filepath.Join(dir, "key.pem"), CA: filepath.Join(dir, "ca.pem"),
		ClientCert: filepath.Join(dir, "edge-cert.pem"), ClientKey: filepath.Join(dir, "edge-key.pem")}
	writePEM(t, f.Cert, "CERTIFICATE", der)
	writePEM(t, f.Key, "EC PRIVATE KEY", keyDER)
	writePEM(t, f.CA, "CERTIFICATE", caDER)
	writePEM(t, f.ClientCert, "CERTIFICATE", cder)
	writePEM(t, f.ClientKey, "EC PRIVATE KEY", ckeyDER)
	return f
}

// newCert signs tmpl with parent's key (self-signed when parent is nil).
func newCert(t testing.TB, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, tmpl *x509.Certificate) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Minute), time.Now().Add(time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
