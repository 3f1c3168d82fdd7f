"""Field work on phones: the page a QR label opens (/a/<tag>), the camera scan page (/scan),
reporting a fault and confirming an asset from the site.

The camera decoder (static/js/scanner.js, window.SampadaScanner) is shared with the other
pages that scan (verification visits): such a page's template calls ``{{ scanner_assets() }}``
(a template global registered by inventory.field.views), which writes the script tags and
lets the response's Content-Security-Policy start the decoder's worker (a blob: worker).
"""
