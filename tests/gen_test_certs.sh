#!/bin/sh
# Generates throwaway TLS material for the tests into $1: a test CA, a server certificate for
# 127.0.0.1/localhost signed by it, and an unrelated CA the exporter must not trust.
set -eu
out=$1
mkdir -p "$out"
cd "$out"
days=3650
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days $days \
  -subj "/CN=esim_exporter test CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
  -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
  -days $days -extfile server.ext 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout other_ca.key -out other_ca.pem -days $days \
  -subj "/CN=untrusted test CA" 2>/dev/null
rm -f server.csr server.ext ca.srl
