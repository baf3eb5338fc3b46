// Package credentials loads a merchant's WeChat Pay credentials (mchid,
// private key, certificate serial, WeChat Pay public key or platform
// certificates, APIv3 key) from command-line flags, WXPAY_* environment
// variables and files, and turns them into wxpay client options.
//
// A command registers the flags, parses them, and loads what they and the
// environment say; a flag wins over its variable:
//
//	fs := flag.NewFlagSet("pay", flag.ExitOnError)
//	flags := credentials.Register(fs, credentials.All)
//	fs.Parse(os.Args[1:])
//	creds, err := flags.Sources(os.Getenv, nil).Load(credentials.All)
//	if err != nil {
//		return err // names the flag and variable that is missing or wrong
//	}
//	for _, w := range creds.Warnings {
//		slog.Warn(w)
//	}
//	client, err := wxpay.NewClient(creds.Options...)
//
// The input of Load is a Sources value, one Source per setting, so a file
// that lists several merchants fills one Sources per merchant, each naming
// its own lines, and loads them the same way.
//
// Files are read up to MaxFileBytes. Errors name the setting (a flag, a
// variable, a file's key) and, for files that hold no secret, the path;
// they never quote a key.
package credentials
