// Package deps holds the import-rule test of the whole module: which of
// sdproxy's packages may import which, so that the request path
// (cmd → proxy → keystore, fieldcrypt, events) and the admin path
// (cmd → admin → keystore, events) stay readable from the folder names.
package deps
