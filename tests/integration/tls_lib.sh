# shellcheck shell=bash
# Helpers of 85_tls.sh (sourced after lib.sh): certificates made with the openssl CLI, and
# an nginx with several TLS listeners.
#
#   make_certs DIR     DIR/ca.pem                 the CA barrage is told to trust (--cacert)
#                      DIR/server.{pem,key}       signed by it, SAN DNS:localhost, IP:127.0.0.1
#                      DIR/other.{pem,key}        signed by it, SAN DNS:other.example only
#                      DIR/client-ca.pem          the CA nginx checks client certificates with
#                      DIR/client.{pem,key}       signed by the client CA
#   start_tls_nginx    nginx on free ports, every port its own server block:
#     TLS_PORT_ALL     TLS 1.2 + 1.3, session cache and tickets on
#     TLS_PORT_12      TLS 1.2 only
#     TLS_PORT_13      TLS 1.3 only
#     TLS_PORT_CLIENT  client certificate required (ssl_verify_client on, the client CA)
#     TLS_PORT_OTHER   the other.example certificate
#     TLS_PORT_CLOSE3  TLS 1.2 + 1.3, keepalive_requests 3: every 3rd response closes
#     TLS_PORT_PLAIN   plain HTTP, no TLS
#   Every location / answers 200 "hello" (5 bytes). The access log, NGINX_LOG, has a line
#   "PORT PROTOCOL REUSED STATUS" a request: "51000 TLSv1.3 r 200" ("." when not resumed,
#   "-" for the protocol on the plain port).

# _cert DIR NAME SUBJECT SAN SIGNER EKU: an EC key and a certificate signed by SIGNER (a CA made
# by _ca), with SAN as given ("" for none); extendedKeyUsage matches the use.
_cert() {
    local dir=$1 name=$2 subj=$3 san=$4 signer=$5 eku=$6
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "$subj" 2>/dev/null || return 1
    {
        echo "basicConstraints=critical,CA:FALSE"
        echo "keyUsage=critical,digitalSignature"
        echo "extendedKeyUsage=$eku"
        [ -n "$san" ] && echo "subjectAltName=$san"
    } >"$dir/$name.ext"
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$signer.pem" -CAkey "$dir/$signer.key" \
        -CAcreateserial -days 2 -sha256 -extfile "$dir/$name.ext" -out "$dir/$name.pem" 2>/dev/null
}

_ca() {  # DIR NAME SUBJECT
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -sha256 \
        -keyout "$1/$2.key" -out "$1/$2.pem" -subj "$3" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        2>/dev/null
}

make_certs() {
    local d=$1
    mkdir -p "$d"
    _ca "$d" ca "/CN=barrage test CA" &&
    _cert "$d" server "/CN=localhost" "DNS:localhost,IP:127.0.0.1" ca serverAuth &&
    _cert "$d" other "/CN=other.example" "DNS:other.example" ca serverAuth &&
    _ca "$d" client-ca "/CN=barrage test client CA" &&
    _cert "$d" client "/CN=barrage client" "" client-ca clientAuth
}

start_tls_nginx() {
    local certs=$1 try user_line=''
    NGINX_PREFIX=$(mktemp -d "$TMP/nginx.XXXXXX")
    chmod 755 "$TMP" "$NGINX_PREFIX"
    chmod 644 "$certs"/*.pem "$certs"/*.key
    chmod 755 "$certs"
    mkdir -p "$NGINX_PREFIX/logs"
    NGINX_LOG=$NGINX_PREFIX/logs/access.log
    [ "$(id -u)" -eq 0 ] && user_line='user root;'
    for ((try = 0; try < 5; try++)); do
        TLS_PORT_ALL=$(free_port) TLS_PORT_12=$(free_port) TLS_PORT_13=$(free_port)
        TLS_PORT_CLIENT=$(free_port) TLS_PORT_OTHER=$(free_port) TLS_PORT_CLOSE3=$(free_port)
        TLS_PORT_PLAIN=$(free_port)
        cat >"$NGINX_PREFIX/nginx.conf" <<EOF
daemon off;
master_process on;
$user_line
worker_processes 1;
pid $NGINX_PREFIX/nginx.pid;
error_log $NGINX_PREFIX/logs/error.log warn;
events {
    use epoll;
    worker_connections 1024;
    multi_accept on;
}
http {
    log_format tls '\$server_port \$ssl_protocol \$ssl_session_reused \$status';
    access_log $NGINX_PREFIX/logs/access.log tls;
    server_tokens off;
    default_type text/plain;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    client_body_temp_path $NGINX_PREFIX/body;
    proxy_temp_path $NGINX_PREFIX/proxy;
    fastcgi_temp_path $NGINX_PREFIX/fastcgi;
    uwsgi_temp_path $NGINX_PREFIX/uwsgi;
    scgi_temp_path $NGINX_PREFIX/scgi;
    ssl_certificate $certs/server.pem;
    ssl_certificate_key $certs/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:TLS:2m;
    ssl_session_timeout 10m;
    ssl_session_tickets on;
    server {
        listen 127.0.0.1:$TLS_PORT_ALL ssl;
        location / { return 200 "hello"; }
    }
    server {
        listen 127.0.0.1:$TLS_PORT_12 ssl;
        ssl_protocols TLSv1.2;
        location / { return 200 "hello"; }
    }
    server {
        listen 127.0.0.1:$TLS_PORT_13 ssl;
        ssl_protocols TLSv1.3;
        location / { return 200 "hello"; }
    }
    server {
        listen 127.0.0.1:$TLS_PORT_CLIENT ssl;
        ssl_verify_client on;
        ssl_client_certificate $certs/client-ca.pem;
        location / { return 200 "hello"; }
    }
    server {
        listen 127.0.0.1:$TLS_PORT_OTHER ssl;
        ssl_certificate $certs/other.pem;
        ssl_certificate_key $certs/other.key;
        location / { return 200 "hello"; }
    }
    server {
        listen 127.0.0.1:$TLS_PORT_CLOSE3 ssl;
        keepalive_requests 3;
        location / { return 200 "hello"; }
    }
    server {
        listen 127.0.0.1:$TLS_PORT_PLAIN;
        location / { return 200 "hello"; }
    }
}
EOF
        nginx_launch $TLS_PORT_ALL $TLS_PORT_12 $TLS_PORT_13 $TLS_PORT_CLIENT $TLS_PORT_OTHER \
            $TLS_PORT_CLOSE3 $TLS_PORT_PLAIN && return 0
    done
    echo "  nginx did not start: $(tail -3 "$NGINX_PREFIX/logs/error.log" "$NGINX_PREFIX/stdout" 2>/dev/null)" >&2
    return 1
}
