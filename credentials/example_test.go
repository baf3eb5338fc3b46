package credentials_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/seed2ac2593f/wxpay"
	"github.com/seed2ac2593f/wxpay/credentials"
	"github.com/seed2ac2593f/wxpay/sandbox"
)

// A command registers the credential flags, parses its arguments and loads
// what the flags and the environment say.
func Example() {
	keys, err := sandbox.GenerateKeys()
	if err != nil {
		panic(err)
	}
	dir, err := os.MkdirTemp("", "keys")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	if err := keys.WriteDir(dir); err != nil {
		panic(err)
	}

	fs := flag.NewFlagSet("pay", flag.ContinueOnError)
	flags := credentials.Register(fs, credentials.All)
	fs.Parse([]string{"--mchid", keys.MchID,
		"--private-key", filepath.Join(dir, sandbox.FileMerchantKey),
		"--merchant-cert", filepath.Join(dir, sandbox.FileMerchantCert)})
	env := map[string]string{ // os.Getenv in a real command
		"WXPAY_WECHATPAY_PUBLIC_KEY":    filepath.Join(dir, sandbox.FilePublicKey),
		"WXPAY_WECHATPAY_PUBLIC_KEY_ID": keys.PublicKeyID,
		"WXPAY_APIV3_KEY_FILE":          filepath.Join(dir, sandbox.FileAPIv3Key),
	}
	creds, err := flags.Sources(func(name string) string { return env[name] }, nil).Load(credentials.All)
	if err != nil {
		fmt.Println(err)
		return
	}
	client, err := wxpay.NewClient(creds.Options...)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("merchant:", client.MchID())
	fmt.Println("platform certificates to keep current:", len(creds.Keys.Certificates()) > 0)
	fmt.Println("warnings:", len(creds.Warnings))
	// Output:
	// merchant: 1900000109
	// platform certificates to keep current: false
	// warnings: 0
}

// A file listing several merchants fills one Sources per merchant, naming
// each setting by its place in the file, so that an error points there.
func ExampleSources_Load() {
	at := func(key string) string { return `merchants.json, merchant 1900000109: "` + key + `"` }
	src := credentials.Sources{
		MchID:            credentials.Source{Value: "1900000109", From: at("mchid")},
		PrivateKeyFile:   credentials.Source{From: at("private_key")},
		MerchantCertFile: credentials.Source{Value: "apiclient_cert.pem", From: at("merchant_cert")},
		APIv3KeyFile:     credentials.Source{Value: "apiv3_key.txt", From: at("apiv3_key_file")},
	}
	_, err := src.Load(credentials.All)
	fmt.Println(err)
	// Output:
	// merchants.json, merchant 1900000109: "private_key" is required
}

// The help of the flags is made from their registrations.
func ExampleUsage() {
	fmt.Print(credentials.Usage(credentials.APIv3Key))
	// Output:
	//   --apiv3-key-file FILE          [WXPAY_APIV3_KEY_FILE] a file holding the 32-character APIv3 key, or
	//   --apiv3-key KEY                [WXPAY_APIV3_KEY] the key itself (on the command line, other users can read it)
}
