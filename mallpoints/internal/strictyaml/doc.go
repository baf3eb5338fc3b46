// Package strictyaml decodes the YAML files operators write for
// mallpointsd (the rules file, the merchants file) strictly, and names
// every problem by the file's line and the key's path.
//
//	var merchantsFile = strictyaml.File{Name: "merchants file", Root: fileDoc{}, MaxSize: 1 << 20, MaxDepth: 5, …}
//
//	var f fileDoc // its fields are *Scalar, *List[Scalar, *Scalar] or mappings of them
//	if err := merchantsFile.Decode(data, &f); err != nil {
//		return err // "line 9: merchants[0].privat_key: unknown key; the keys of a merchant: mchid, …"
//	}
//
// Decoding refuses what yaml would accept silently: an unknown key, a key
// given twice, a value of the wrong kind, an empty value below the top
// level, anchors and aliases, merge keys, custom tags, keys that are not
// names, a second document, and files larger, deeper or wider than a file
// of the kind needs. A value decodes into a Scalar, which keeps its text
// and line, so that a check made after decoding names its line too.
package strictyaml
