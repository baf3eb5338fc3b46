// Package wxauth holds the APIv3 primitives that the server side of the
// protocol needs as well as the client: the signed request message, the
// Authorization header parser and verifier, AEAD encryption and the key
// length rules. The sandbox, notify and the wxpay command share them with the
// root package; merchants never call them, so they are not part of the
// public API.
//
// Protocol: 签名生成 https://pay.weixin.qq.com/doc/v3/merchant/4012365336 and
// 回调报文解密 https://pay.weixin.qq.com/doc/v3/merchant/4012071382.
//
// The package imports only the standard library.
package wxauth
