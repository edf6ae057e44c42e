package brazeemu

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// maxString is Braze's cap, in characters, on property names, string
// property values and custom attribute string values.
const maxString = 255

const identifiers = "'external_id', 'user_alias', 'braze_id', 'email' or 'phone'"

// The error types listed in a /users/track answer for dropped objects.
const (
	errNotObject       = "object is not valid"
	errNoIdentifier    = "one of " + identifiers + " is required"
	errManyIdentifiers = "only one of " + identifiers + " may be given"
	errUpdateOnly      = "'_update_existing_only' is not valid"
)

// identifierKeys are the keys that name the person rather than describe it.
var identifierKeys = map[string]bool{
	"external_id": true, "user_alias": true, "braze_id": true, "_update_existing_only": true,
}

// standardAttributes are Braze's own profile fields; every other attribute
// key is a custom attribute.
var standardAttributes = map[string]bool{
	"email": true, "first_name": true, "last_name": true, "phone": true,
	"gender": true, "dob": true, "country": true, "home_city": true,
	"language": true, "time_zone": true, "push_subscribe": true,
	"email_subscribe": true, "subscription_groups": true, "image_url": true,
}

var subscribeStates = map[string]bool{"opted_in": true, "subscribed": true, "unsubscribed": true}

var groupStates = map[string]bool{"subscribed": true, "unsubscribed": true}

// readRef reads the person an object names. external_id, user_alias and
// braze_id exclude one another. On an attributes object email and phone
// are also fields, so they name the person only when none of those three
// is given; on an event or purchase an email or phone next to another
// identifier is an error. With both email and phone, email names the
// person, as on Braze.
func readRef(obj map[string]any, attributes bool) (Ref, string) {
	var ref Ref
	n := 0
	if v, ok := obj["external_id"]; ok && v != nil {
		s, ok := v.(string)
		if !ok || s == "" {
			return Ref{}, "'external_id' is not valid"
		}
		ref.ExternalID, n = s, n+1
	}
	if v, ok := obj["user_alias"]; ok && v != nil {
		a, ok := readAlias(v)
		if !ok {
			return Ref{}, "'user_alias' is not valid"
		}
		ref.Alias, n = &a, n+1
	}
	if v, ok := obj["braze_id"]; ok && v != nil {
		s, ok := v.(string)
		if !ok || s == "" {
			return Ref{}, "'braze_id' is not valid"
		}
		ref.BrazeID, n = s, n+1
	}
	email, hasEmail := nonEmptyString(obj["email"])
	phone, hasPhone := nonEmptyString(obj["phone"])
	switch {
	case n > 1:
		return Ref{}, errManyIdentifiers
	case n == 1 && (hasEmail || hasPhone) && !attributes:
		return Ref{}, errManyIdentifiers
	case n == 1:
		return ref, ""
	case hasEmail:
		return Ref{Email: email}, ""
	case hasPhone:
		return Ref{Phone: phone}, ""
	}
	return Ref{}, errNoIdentifier
}

func readAlias(v any) (Alias, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return Alias{}, false
	}
	name, okName := nonEmptyString(m["alias_name"])
	label, okLabel := nonEmptyString(m["alias_label"])
	return Alias{Name: name, Label: label}, okName && okLabel
}

func nonEmptyString(v any) (string, bool) {
	s, ok := v.(string)
	return s, ok && s != ""
}

func readUpdateOnly(obj map[string]any) (*bool, string) {
	v, ok := obj["_update_existing_only"]
	if !ok || v == nil {
		return nil, ""
	}
	b, ok := v.(bool)
	if !ok {
		return nil, errUpdateOnly
	}
	return &b, ""
}

// readFields checks the attribute fields of an attributes object.
func readFields(obj map[string]any) (map[string]any, string) {
	fields := make(map[string]any)
	for k, v := range obj {
		if identifierKeys[k] {
			continue
		}
		if msg := checkField(k, v); msg != "" {
			return nil, msg
		}
		fields[k] = v
	}
	return fields, ""
}

func checkField(k string, v any) string {
	switch {
	case k == "":
		return "attribute name is empty"
	case v == nil:
		return ""
	case k == "email_subscribe" || k == "push_subscribe":
		if s, ok := v.(string); !ok || !subscribeStates[s] {
			return fmt.Sprintf("'%s' is not valid", k)
		}
	case k == "subscription_groups":
		if !validGroups(v) {
			return "'subscription_groups' is not valid"
		}
	case !standardAttributes[k]:
		if s, ok := v.(string); ok && utf8.RuneCountInString(s) > maxString {
			return fmt.Sprintf("custom attribute '%s' is longer than %d characters", k, maxString)
		}
	}
	return ""
}

func validGroups(v any) bool {
	list, ok := v.([]any)
	if !ok {
		return false
	}
	for _, item := range list {
		g, ok := item.(map[string]any)
		if !ok {
			return false
		}
		if _, ok := nonEmptyString(g["subscription_group_id"]); !ok {
			return false
		}
		if s, ok := g["subscription_state"].(string); !ok || !groupStates[s] {
			return false
		}
	}
	return true
}

// readProperties checks an event's or purchase's properties: names
// non-empty, at most 255 characters, no leading '$', none of the reserved
// names; string values at most 255 characters.
func readProperties(v any, reserved map[string]bool) (map[string]any, string) {
	if v == nil {
		return nil, ""
	}
	props, ok := v.(map[string]any)
	if !ok {
		return nil, "'properties' is not valid"
	}
	for k, pv := range props {
		switch {
		case k == "":
			return nil, "property name is empty"
		case utf8.RuneCountInString(k) > maxString:
			return nil, fmt.Sprintf("property name is longer than %d characters", maxString)
		case strings.HasPrefix(k, "$"):
			return nil, fmt.Sprintf("property name '%s' starts with '$'", k)
		case reserved[k]:
			return nil, fmt.Sprintf("property name '%s' is reserved", k)
		}
		if s, ok := pv.(string); ok && utf8.RuneCountInString(s) > maxString {
			return nil, fmt.Sprintf("property '%s' is longer than %d characters", k, maxString)
		}
	}
	return props, ""
}

var (
	eventReserved    = map[string]bool{"time": true, "event_name": true}
	purchaseReserved = map[string]bool{
		"time": true, "event_name": true, "product_id": true,
		"quantity": true, "price": true, "currency": true,
	}
)

// readTime reads a required ISO 8601 time. A time in the future becomes
// now, as on Braze.
func readTime(obj map[string]any, now time.Time) (time.Time, string) {
	v, ok := obj["time"]
	if !ok || v == nil {
		return time.Time{}, "'time' is missing"
	}
	s, ok := v.(string)
	if !ok {
		return time.Time{}, "'time' is not valid"
	}
	t, ok := parseTime(s)
	if !ok {
		return time.Time{}, "'time' is not valid"
	}
	if t.After(now) {
		t = now
	}
	return t.UTC(), ""
}

// brazeMillis matches Braze's own format yyyy-MM-dd'T'HH:mm:ss:SSSZ, whose
// milliseconds follow a colon.
var brazeMillis = regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d):(\d{3})`)

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05.999999999", // no zone: UTC
	"2006-01-02",
}

func parseTime(s string) (time.Time, bool) {
	s = brazeMillis.ReplaceAllString(s, "$1.$2")
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// attributesObject is a valid attributes object of /users/track.
type attributesObject struct {
	index      int
	ref        Ref
	updateOnly *bool
	fields     map[string]any
}

func readAttributes(obj map[string]any) (attributesObject, string) {
	ref, msg := readRef(obj, true)
	if msg != "" {
		return attributesObject{}, msg
	}
	updateOnly, msg := readUpdateOnly(obj)
	if msg != "" {
		return attributesObject{}, msg
	}
	fields, msg := readFields(obj)
	if msg != "" {
		return attributesObject{}, msg
	}
	return attributesObject{ref: ref, updateOnly: updateOnly, fields: fields}, ""
}

// eventObject is a valid event object of /users/track.
type eventObject struct {
	index      int
	ref        Ref
	updateOnly *bool
	event      Event
}

func readEvent(obj map[string]any, now time.Time) (eventObject, string) {
	ref, msg := readRef(obj, false)
	if msg != "" {
		return eventObject{}, msg
	}
	updateOnly, msg := readUpdateOnly(obj)
	if msg != "" {
		return eventObject{}, msg
	}
	v, present := obj["name"]
	name, ok := nonEmptyString(v)
	if !ok {
		if !present || v == nil {
			return eventObject{}, "'name' is missing"
		}
		return eventObject{}, "'name' is not valid"
	}
	t, msg := readTime(obj, now)
	if msg != "" {
		return eventObject{}, msg
	}
	props, msg := readProperties(obj["properties"], eventReserved)
	if msg != "" {
		return eventObject{}, msg
	}
	e := Event{Name: name, Time: t, Properties: props}
	return eventObject{ref: ref, updateOnly: updateOnly, event: e}, ""
}

// purchaseObject is a valid purchase object of /users/track.
type purchaseObject struct {
	index      int
	ref        Ref
	updateOnly *bool
	purchase   Purchase
}

var currencyCode = regexp.MustCompile(`^[A-Za-z]{3}$`)

func readPurchase(obj map[string]any, now time.Time) (purchaseObject, string) {
	ref, msg := readRef(obj, false)
	if msg != "" {
		return purchaseObject{}, msg
	}
	updateOnly, msg := readUpdateOnly(obj)
	if msg != "" {
		return purchaseObject{}, msg
	}
	product, ok := nonEmptyString(obj["product_id"])
	if !ok || utf8.RuneCountInString(product) > maxString {
		return purchaseObject{}, "'product_id' is not valid"
	}
	currency, ok := obj["currency"].(string)
	if !ok || !currencyCode.MatchString(currency) {
		return purchaseObject{}, "'currency' is not valid"
	}
	price, ok := obj["price"].(float64)
	if !ok {
		return purchaseObject{}, "'price' is not valid"
	}
	quantity, msg := readQuantity(obj["quantity"])
	if msg != "" {
		return purchaseObject{}, msg
	}
	t, msg := readTime(obj, now)
	if msg != "" {
		return purchaseObject{}, msg
	}
	props, msg := readProperties(obj["properties"], purchaseReserved)
	if msg != "" {
		return purchaseObject{}, msg
	}
	p := Purchase{
		ProductID: product, Currency: strings.ToUpper(currency), Price: price,
		Quantity: quantity, Time: t, Properties: props,
	}
	return purchaseObject{ref: ref, updateOnly: updateOnly, purchase: p}, ""
}

// readQuantity reads an optional purchase quantity: a whole number from 1
// to 100, 1 when absent.
func readQuantity(v any) (int, string) {
	if v == nil {
		return 1, ""
	}
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || f < 1 || f > 100 {
		return 0, "'quantity' is not valid"
	}
	return int(f), ""
}
