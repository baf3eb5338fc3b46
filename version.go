package wxpay

// Version is the version of this module, sent in every User-Agent.
const Version = "0.1.0"
