// libjpeg-turbo's libjpeg API (Debian: libjpeg62-turbo-dev, pkg-config "libjpeg").
#include <stdio.h>
#include <jpeglib.h>
