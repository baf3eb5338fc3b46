package main

import "github.com/seed2ac2593f/wxpay/credentials"

const configHelp = `  --config FILE                  [WXPAY_CONFIG] a JSON object of these settings, keyed by flag
                                 name, e.g. {"mchid": "1900000109", "private-key": "apiclient_key.pem"};
                                 file paths in it are relative to it; flags and variables win over it
`

// The credential flags' help is made from their registrations.
var (
	credentialHelp = credentials.Usage(credentials.Merchant)
	verifyHelp     = credentials.Usage(credentials.Verifier | credentials.APIv3Key)
)

var mainHelp = `wxpay: WeChat Pay APIv3 from the command line. Every request is signed and
every answer verified; a failure names the check that failed.

Usage:
  wxpay call METHOD PATH [flags]   sign a request, send it, verify the answer
  wxpay notify parse [flags]       verify, then decrypt, a callback notification
  wxpay certificates download --out DIR
                                   download the platform certificates, verified with what was fetched
  wxpay sandbox [flags]            serve a local WeChat Pay for the business circle
  wxpay keygen --out DIR           make test keys for a sandbox and its clients
  wxpay demo                       the business-circle flow against the embedded sandbox
  wxpay version                    print the version
  wxpay help [COMMAND]             this text, or a command's (also: wxpay COMMAND --help)

Credentials come from flags or from the environment variables in brackets;
a flag wins over its variable:
` + credentialHelp + verifyHelp + configHelp + `
Exit status: 0 success (for call: a 2xx answer whose signature verified),
1 the call or a check failed (one line on stderr says which), 2 usage error.

Examples:
  wxpay demo
  wxpay call POST v3/businesscircle/points/notify --data @points.json
`

var callHelp = `Usage: wxpay call METHOD PATH [flags]

Signs the request (WECHATPAY2-SHA256-RSA2048), sends it to PATH below
--base-url and verifies the answer's signature. The answer's body goes to
stdout as received (pipe it into jq), followed by a line break if it does
not end with one (--raw: exactly the bytes received); "HTTP <status>",
"Request-ID:" and "Verified-By: <key>" go to stderr. Flags may come before
or after METHOD and PATH.

Request:
  --data JSON|@FILE|@-           body, sent byte for byte: JSON as given, a file, or stdin
  --query k=v                    add k=v to the query string; repeatable, kept in order
  --path-param k=v               fill {k} in PATH, percent-escaped, case kept; repeatable
  --header 'Name: value'         add a request header; repeatable
  --timeout DURATION             limit for the whole call, retries included (default 30s); a
                                 Retry-After longer than what is left ends the call at once
  --retries N                    retries of network errors, 429 and 5xx (default 2; 0 for none)
  --no-verify                    accept answers without checking their signature
                                 (prints a warning; debugging only, never with real money)
  --raw                          print the body's bytes only, without adding a final line break

Credentials (flag, or the environment variable in brackets):
` + credentialHelp + verifyHelp + configHelp + `  With only an APIv3 key, the platform certificates are downloaded first.

Exit status: 0 for a 2xx answer whose signature verified; 1 otherwise, with
one line on stderr naming what failed, with WeChat Pay's code, message and
detail for an answer outside 2xx (whose body is still printed on stdout);
2 for a usage error (also an unreadable file, or one larger than its limit:
key and certificate files 64 KiB, --config 64 KiB, --data 1 MiB).

Examples:
  export WXPAY_MCHID=1900000109 WXPAY_PRIVATE_KEY=apiclient_key.pem WXPAY_MERCHANT_CERT=apiclient_cert.pem
  export WXPAY_WECHATPAY_PUBLIC_KEY=pub_key.pem WXPAY_WECHATPAY_PUBLIC_KEY_ID=PUB_KEY_ID_0119000001092025112300000000000001
  wxpay call POST v3/businesscircle/points/notify --data '{"transaction_id":"1217752501201407033233368018","appid":"wx1234567890abcdef","openid":"oWmnN4xxxxxxxxxxe92NHIGf1xd8","earn_points":true,"increased_points":100,"points_update_time":"2020-05-20T13:29:35.120+08:00"}'
  wxpay call GET 'v3/businesscircle/user-authorizations/{openid}' --path-param openid=oWmnN4xxxxxxxxxxe92NHIGf1xd8 --query appid=wx1234567890abcdef | jq .authorize_state
`

var notifyHelp = `Usage: wxpay notify parse [--header 'Name: value']… [--body FILE|-] [flags]

Verifies a callback notification's signature (Wechatpay-* headers over the
exact body bytes) and only then decrypts its resource with the APIv3 key.
The decrypted resource JSON goes to stdout, followed by a line break; the
notification's id, event type and the key that verified it go to stderr.

  --header 'Name: value'         a header of the notification, such as Wechatpay-Signature; repeatable
  --body FILE|-                  the notification body (default: stdin; at most 64 KiB)
  --max-clock-skew DURATION      how old Wechatpay-Timestamp may be (default 5m0s; raise it to
                                 replay a notification captured earlier)
  --raw                          print the plaintext's bytes only, without a final line break

Keys (flag, or the environment variable in brackets):
` + verifyHelp + configHelp + `
Exit status: 0 when the notification verified and decrypted; 1 otherwise,
with one line on stderr naming the failed check; 2 for a usage error.

Example:
  wxpay notify parse --body body.json \
    --header 'Wechatpay-Timestamp: 1700000000' --header 'Wechatpay-Nonce: 5K8264ILTKCH16CQ2502SI8ZNMTM67VS' \
    --header 'Wechatpay-Signature: …' --header 'Wechatpay-Serial: PUB_KEY_ID_0119000001092025112300000000000001' \
    --wechatpay-public-key pub_key.pem --wechatpay-public-key-id PUB_KEY_ID_0119000001092025112300000000000001 \
    --apiv3-key "$WXPAY_APIV3_KEY"
`

const demoHelp = `Usage: wxpay demo

Runs the smart business circle flow against the embedded sandbox on
loopback, with fresh keys: a customer opens the member card and
MALL_AUTH.ACTIVATE_CARD arrives; the member pays and MALL_TRANSACTION.SUCCESS
arrives, verified and decrypted; the pending-points query says PENDING; the
points are synced (POST /v3/businesscircle/points/notify, 204, verified);
the query then says FINISHED; the authorisation is queried; a refund brings
MALL_REFUND.SUCCESS. Then the sandbox sends a WECHATPAY/SIGNTEST/ probe, on
an answer and on a notification, and the client and the receiver refuse
them. Nothing leaves this machine.

Exit status: 0 when every step behaved as expected, 1 otherwise.

Example:
  wxpay demo
`

var certificatesHelp = `Usage: wxpay certificates download --out DIR [flags]

Downloads the platform certificates (GET /v3/certificates), decrypts them
with the APIv3 key, verifies the answer's signature with the certificates it
carries (and any key given with the flags below) and writes each to
DIR/wechatpay_<SERIAL>.pem. A JSON list of {serial_no, effective_time,
expire_time, file} goes to stdout (pipe it into jq); one line per certificate
goes to stderr. A merchant onboarded with a WeChat Pay public key has no
platform certificates: the command says so and exits 1.

  --out DIR                      where to write the certificates (created if missing)

Credentials (flag, or the environment variable in brackets); --apiv3-key is required:
` + credentialHelp + verifyHelp + configHelp + `
Exit status: 0 when the certificates were downloaded, verified and written;
1 otherwise, with one line on stderr naming what failed; 2 for a usage error.

Example:
  wxpay certificates download --out certs --mchid 1900000109 --private-key apiclient_key.pem \
    --merchant-cert apiclient_cert.pem --apiv3-key "$WXPAY_APIV3_KEY" | jq -r '.[].serial_no'
`

const sandboxHelp = `Usage: wxpay sandbox [flags]

Serves a local, stateful WeChat Pay for the smart business circle: the four
/v3/businesscircle/ endpoints and GET /v3/certificates, verified and signed
like WeChat Pay, notifications signed, encrypted and retried on WeChat Pay's
schedule, and an admin API under /sandbox/ (authorizations, transactions,
refunds, points, parkings, deliveries, faults). Logs go to stderr. With no
keys given it makes them (or reuses those in --keys-dir) and prints how to
connect. The admin API has no authentication: listening beyond loopback
prints a warning. Stop it with Ctrl-C.

  --listen ADDR                  address to serve (default 127.0.0.1:8090)
  --keys-dir DIR                 where made keys are kept (default wxpay-sandbox-keys)
  --mchid ID                     the merchant allowed to call, with
  --merchant-cert FILE           its API certificate, or
  --merchant-public-key FILE     its public key and
  --merchant-serial SERIAL       its certificate serial
  --apiv3-key KEY                the merchant's APIv3 key (encrypts notifications and certificates)
  --sub-mchid ID                 a mall the merchant acts for as a service provider; repeatable
  --wechatpay-private-key FILE   WeChat Pay's public-key-mode signing key, with
  --wechatpay-public-key-id ID   its id, PUB_KEY_ID_…
  --platform-key FILE            a platform certificate's key, with
  --platform-cert FILE           the certificate (both key kinds given: migration behaviour)
  --notify-url URL               where notifications go
  --notify-retry-schedule LIST   waits between attempts, e.g. 1s,5s,30s (default WeChat Pay's
                                 15s,15s,30s,3m,10m,20m,30m,30m,30m,60m,3h,3h,3h,6h,6h)
  --notify-public-key-share N    with both key kinds, the share of notifications signed with the
                                 public key, 0 to 1 (default 1: the migration is complete)
  --rate-limits                  enforce WeChat Pay's documented per-second limits (150 for the
                                 authorization query), answering 429 FREQUENCY_LIMITED
  --config FILE                  JSON with the same keys as the flags and "merchants": a list of
                                 {"mchid", "merchant-cert" | "merchant-public-key" + "merchant-serial",
                                 "apiv3-key", "notify-url", "auth-notify-url", "sub-mchids", "appids",
                                 "brands": {"1000": ["wx…"]}}; paths relative to the file; flags win

Exit status: 0 when stopped by a signal; 1 when it cannot listen; 2 for a
usage error (a bad key, flag or configuration).

Examples:
  wxpay sandbox
  wxpay sandbox --listen 127.0.0.1:9000 --notify-url http://127.0.0.1:8080/wechatpay/notify --notify-retry-schedule 1s,2s,5s
`

const keygenHelp = `Usage: wxpay keygen --out DIR [--force]

Makes TEST keys for a sandbox and its clients and writes them to DIR:
apiclient_key.pem and apiclient_cert.pem (the merchant), pub_key.pem,
wechatpay_private_key.pem and public_key_id.txt (WeChat Pay's public key),
platform_cert.pem and platform_key.pem (a platform certificate),
apiv3_key.txt and mchid.txt. Private keys are written 0600. A JSON summary
goes to stdout. Existing keys are kept unless --force.

Exit status: 0 when written; 1 when they could not be; 2 for a usage error.

Example:
  wxpay keygen --out keys && wxpay sandbox --keys-dir keys
`
