// Package merchants is the merchants file (--merchants): the WeChat Pay
// merchants one mallpointsd serves, each with its own keys, and the malls
// each serves — a direct merchant's own mall, or a service provider's
// sub-merchants. Every merchant gets its own client, which signs the syncs
// of its malls, and its own notification parser, which verifies and
// decrypts with its keys only.
//
//	set, err := merchants.Load("merchants.yaml", merchants.Options{Client: []wxpay.Option{wxpay.WithoutRetries()}})
//	if err != nil {
//		return err // "merchants.yaml:12: merchants[1].sub_mchids[3]: mall 1900000301 is already listed at line 4"
//	}
//	reg := merchants.NewRegistry(set)
//	client, subMchID, ok := reg.ClientFor(mall)
//
// The file is YAML, decoded strictly as the rules file is: an unknown key,
// a key given twice, anchors and aliases are errors naming their line.
// Secrets are never in it: the APIv3 key comes from the environment
// variable apiv3_key_env names or the file apiv3_key_file names, and the
// private key from its file; key files are read as package credentials
// reads the flags' (at most 64 KiB each). A mall listed twice, as a
// merchant's mchid or a sub_mchid, is an error naming both lines.
// docs/deploy.md describes every key.
package merchants
