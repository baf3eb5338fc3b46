package strictyaml_test

import (
	"fmt"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/strictyaml"
)

func ExampleFile_Decode() {
	type shopDoc struct {
		At     strictyaml.At      `yaml:",inline"`
		Number *strictyaml.Scalar `yaml:"shop_number"`
	}
	type fileDoc struct {
		Shops *[]shopDoc `yaml:"shops"`
	}
	shops := strictyaml.File{
		Name: "shops file", Root: fileDoc{}, MaxSize: 1 << 20, MaxDepth: 5, KeyExample: "shops", AnchorHint: "write the shop out",
		Known:   func(_, keys string) string { return "known keys here: " + keys },
		Mapping: func(_, keys string) string { return "a mapping of " + keys },
	}

	var f fileDoc
	err := shops.Decode([]byte("shops:\n  - shop_number: 007\n  - shop_numbr: S2\n"), &f)
	fmt.Println(err)

	err = shops.Decode([]byte("shops:\n  - shop_number: 007\n"), &f)
	shop := (*f.Shops)[0]
	fmt.Println(err, shop.At.Line, shop.Number.Text)
	// Output:
	// line 3: shops[1].shop_numbr: unknown key; known keys here: shop_number
	// <nil> 2 007
}
